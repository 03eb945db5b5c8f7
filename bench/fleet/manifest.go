package fleet

import (
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
)

// ManifestKinds are the job files Manifest writes.
var ManifestKinds = []string{"sbatch", "indexed-job", "jobset", "mpijob"}

// ManifestOptions describe the job a manifest launches.
type ManifestOptions struct {
	Kind string
	// Name is the job's name (a DNS label for Kubernetes).
	Name      string
	Namespace string
	// Nodes and RanksPerNode size the job: one rank per node (driving all
	// its GPUs) or one per GPU.
	Nodes, RanksPerNode int
	// GPUsPerNode is requested from the scheduler (0: a CPU fleet).
	GPUsPerNode int
	Image       string
	// Partition and Time are Slurm's.
	Partition, Time string
	Port            int
	// Args are extra "flopcast fleet run" flags.
	Args []string
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// Validate names the flag of a value that cannot make a job file.
func (o ManifestOptions) Validate() error {
	switch {
	case !slices.Contains(ManifestKinds, o.Kind):
		return badInput("--kind %q: want %s", o.Kind, strings.Join(ManifestKinds, ", "))
	case !dnsLabel.MatchString(o.Name) || len(o.Name) > 40:
		return badInput("--name %q: want a DNS label (lower-case letters, digits, '-'), at most 40 characters", o.Name)
	case o.Nodes < 1 || o.Nodes > 100000:
		return badInput("--nodes %d: want 1 to 100000", o.Nodes)
	case o.RanksPerNode < 1 || o.RanksPerNode > 1024:
		return badInput("--ranks-per-node %d: want 1 to 1024", o.RanksPerNode)
	case o.GPUsPerNode < 0 || o.GPUsPerNode > 1024:
		return badInput("--gpus-per-node %d: want 0 to 1024", o.GPUsPerNode)
	case o.Port < 1 || o.Port > 65535:
		return badInput("--port %d: want 1 to 65535", o.Port)
	case o.Image == "" || strings.ContainsAny(o.Image, " \"'\n"):
		return badInput("--image %q: want an image reference", o.Image)
	case o.Kind != "sbatch" && (!dnsLabel.MatchString(o.Namespace)):
		return badInput("--namespace %q: want a DNS label", o.Namespace)
	}
	for _, a := range o.Args {
		if strings.ContainsAny(a, "\"'\\\n$`") {
			return badInput("--args: %q: no quotes, backslashes, '$' or newlines", a)
		}
	}
	return nil
}

// Manifest writes a ready job file of o.Kind.
func Manifest(w io.Writer, o ManifestOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	data := struct {
		ManifestOptions
		World    int
		ArgsYAML string
		ArgsSh   string
	}{ManifestOptions: o, World: o.Nodes * o.RanksPerNode}
	var y []string
	for _, a := range o.Args {
		y = append(y, strconv.Quote(a))
	}
	data.ArgsYAML = strings.Join(y, ", ")
	data.ArgsSh = strings.Join(o.Args, " ")
	t, ok := manifestTemplates[o.Kind]
	if !ok {
		return badInput("--kind %q: want %s", o.Kind, strings.Join(ManifestKinds, ", "))
	}
	return template.Must(template.New(o.Kind).Parse(t)).Execute(w, data)
}

var manifestTemplates = map[string]string{
	"sbatch": `#!/bin/bash
# flopcast fleet: every node of the allocation measured at once.
# flopcast reads SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NODEID and
# SLURM_JOB_NODELIST; rank 0 listens on the first node, port {{.Port}}.
#SBATCH --job-name={{.Name}}
#SBATCH --nodes={{.Nodes}}
#SBATCH --ntasks-per-node={{.RanksPerNode}}
{{- if .GPUsPerNode}}
#SBATCH --gpus-per-node={{.GPUsPerNode}}
{{- end}}
{{- if .Partition}}
#SBATCH --partition={{.Partition}}
{{- end}}
#SBATCH --time={{.Time}}
#SBATCH --exclusive
#SBATCH --output={{.Name}}-%j.out

set -euo pipefail
first=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | head -n 1)
mkdir -p "results/$SLURM_JOB_ID"
# Exit status 1: a node failed or is missing (see the verdicts and the
# drain commands printed by rank 0; flopcast never runs them).
srun --kill-on-bad-exit=0 flopcast fleet run \
  --rendezvous "$first:{{.Port}}" \
  --results-dir "results/$SLURM_JOB_ID" \
  --metrics-out "results/$SLURM_JOB_ID/fleet.prom"{{if .ArgsSh}} \
  {{.ArgsSh}}{{end}}
`,
	"indexed-job": `# flopcast fleet as a Kubernetes Indexed Job: pod i is rank i
# (JOB_COMPLETION_INDEX); rank 0 is {{.Name}}-0.{{.Name}} in the headless
# Service below. Results stay in each pod's /results (copy them out, or
# mount a shared volume there).
apiVersion: v1
kind: Service
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  clusterIP: None
  publishNotReadyAddresses: true
  selector:
    job-name: {{.Name}}
  ports:
  - name: rendezvous
    port: {{.Port}}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
` + indent(2, indexedPods) + `  template:
    metadata:
      labels:
        job-name: {{.Name}}
    spec:
      subdomain: {{.Name}}
      restartPolicy: Never
` + indent(6, fleetPod("job-name", `- name: FLOPCAST_JOB_NAME
  value: {{.Name}}
- name: FLOPCAST_SERVICE
  value: {{.Name}}
`)),
	"jobset": `# flopcast fleet as a JobSet: one replicated job of {{.World}} indexed pods;
# rank 0 is {{.Name}}-workers-0-0.{{.Name}} (JobSet's headless Service).
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  network:
    enableDNSHostnames: true
    publishNotReadyAddresses: true
  failurePolicy:
    maxRestarts: 0
  replicatedJobs:
  - name: workers
    replicas: 1
    template:
      spec:
` + indent(8, indexedPods) + `        template:
          spec:
            restartPolicy: Never
` + indent(12, fleetPod("jobset.sigs.k8s.io/jobset-name", `- name: JOBSET_NAME
  value: {{.Name}}
- name: REPLICATED_JOB_NAME
  value: workers
`)),
	"mpijob": `# flopcast fleet under the Kubeflow MPI Operator: mpirun starts {{.World}} ranks
# ({{.RanksPerNode}} per worker); flopcast reads OMPI_COMM_WORLD_*, and rank 0
# (on the first host of the hostfile) is the rendezvous.
apiVersion: kubeflow.org/v2beta1
kind: MPIJob
metadata:
  name: {{.Name}}
  namespace: {{.Namespace}}
spec:
  slotsPerWorker: {{.RanksPerNode}}
  runPolicy:
    cleanPodPolicy: Running
  mpiReplicaSpecs:
    Launcher:
      replicas: 1
      template:
        spec:
          containers:
          - name: launcher
            image: {{.Image}}
            command:
            - /bin/sh
            - -c
            - >-
              mpirun --allow-run-as-root -np {{.World}} --map-by ppr:{{.RanksPerNode}}:node
              -x FLOPCAST_RENDEZVOUS=$(awk 'NR==1 {print $1}' /etc/mpi/hostfile):{{.Port}}
              flopcast fleet run --results-dir /results --metrics-out /results/fleet.prom{{if .ArgsSh}} {{.ArgsSh}}{{end}}
    Worker:
      replicas: {{.Nodes}}
      template:
        spec:
          containers:
          - name: worker
            image: {{.Image}}
` + indent(10, resultsVolume),
}

// indexedPods sizes an Indexed Job (Kubernetes' own or a JobSet's) to one
// pod a rank, at the indent of the Job's spec fields.
const indexedPods = `completionMode: Indexed
completions: {{.World}}
parallelism: {{.World}}
backoffLimit: 0
`

// resultsVolume ends a pod spec whose last container runs flopcast (at the
// indent of the pod spec's fields): the GPUs it asks for and the /results
// volume it writes to.
const resultsVolume = `{{- if .GPUsPerNode}}
  resources:
    limits:
      nvidia.com/gpu: {{.GPUsPerNode}}
{{- end}}
  volumeMounts:
  - name: results
    mountPath: /results
volumes:
- name: results
  emptyDir: {}
`

// fleetPod is the rest of an indexed pod's spec from its affinity on (at
// the indent of the pod spec's fields): one pod a node when there is one
// rank a node, telling apart the job's pods by the label podLabel, and
// the flopcast container, with env (entries naming the job, between the
// world size and the rendezvous port) in its environment.
func fleetPod(podLabel, env string) string {
	return `{{- if eq .RanksPerNode 1}}
affinity:
  podAntiAffinity:
    requiredDuringSchedulingIgnoredDuringExecution:
    - labelSelector:
        matchLabels:
          ` + podLabel + `: {{.Name}}
      topologyKey: kubernetes.io/hostname
{{- end}}
containers:
- name: flopcast
  image: {{.Image}}
  command: ["flopcast", "fleet", "run", "--results-dir", "/results", "--metrics-out", "/results/fleet.prom"{{if .ArgsYAML}}, {{.ArgsYAML}}{{end}}]
  env:
  - name: FLOPCAST_WORLD_SIZE
    value: "{{.World}}"
` + indent(2, env) + `  - name: FLOPCAST_RENDEZVOUS_PORT
    value: "{{.Port}}"
  - name: FLOPCAST_NODE
    valueFrom:
      fieldRef:
        fieldPath: spec.nodeName
  ports:
  - containerPort: {{.Port}}
` + resultsVolume
}

// indent puts n spaces before each line of the template text s, but for
// blank lines and those that open with "{{-" (which trims the space
// before it anyway).
func indent(n int, s string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) != "" && !strings.HasPrefix(l, "{{-") {
			lines[i] = strings.Repeat(" ", n) + l
		}
	}
	return strings.Join(lines, "")
}
