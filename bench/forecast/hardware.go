package forecast

import (
	"fmt"

	"github.com/flopcast/flopcast/bench/catalog"
)

// DefaultNetworkGbpsPerGPU is the inter-node bandwidth assumed when the
// catalog gives none, neither for the instance nor as the GPU's cluster
// network: 50 Gbit/s per GPU, a p4d.24xlarge's 400 Gbps over 8 GPUs.
const DefaultNetworkGbpsPerGPU = 50.0

// InstanceHardware describes a catalog instance, priced at the given kind
// ("on-demand", "1y", "3y", "capacity-block"; empty: on-demand, else the
// first price listed). It returns the lines for a forecast's sources and
// warnings.
func InstanceHardware(c *catalog.Catalog, in catalog.Instance, kind string) (Hardware, []string, []string, error) {
	g, err := c.GPU(in.GPU)
	if err != nil {
		return Hardware{}, nil, nil, err
	}
	h := Hardware{GPU: g, Instance: in.Name, Domain: in.Domain(), IntraGBps: in.IntraGBps}
	var src, warn []string
	src = append(src, fmt.Sprintf("gpu: %s (%s), %s; catalog of %s", g.Name, g.Display, sourceList(c, g.Sources), c.Date))
	if h.IntraGBps == 0 {
		// PCIe-only: all-reduces go over the network like DP traffic.
		warn = append(warn, fmt.Sprintf("%s has no NVLink: tensor-parallel traffic priced at the network bandwidth", in.Name))
	}
	if in.NetworkGbps > 0 {
		h.InterGBps = in.NetworkGbps / 8 / float64(in.GPUs)
		src = append(src, fmt.Sprintf("instance: %s, %d GPUs, NVLink domain %d, intra-node %.0f GB/s per GPU, network %.0f Gbps = %.1f GB/s per GPU (%s)", in.Name, in.GPUs, in.Domain(), in.IntraGBps, in.NetworkGbps, h.InterGBps, sourceList(c, in.Sources)))
	} else {
		gbps, how := networkDefault(c, g)
		h.InterGBps = gbps / 8
		src = append(src, fmt.Sprintf("instance: %s, %d GPUs (%s); network not in the catalog: %s", in.Name, in.GPUs, sourceList(c, in.Sources), how))
	}
	var p catalog.Price
	var ok bool
	if kind != "" {
		if p, ok = in.FindPrice(kind); !ok {
			return Hardware{}, nil, nil, fmt.Errorf("instance %s has no %q price (has: %v)", in.Name, kind, in.PriceKinds())
		}
	} else if p, ok = in.FindPrice("on-demand"); !ok && len(in.Prices) > 0 {
		p, ok = in.Prices[0], true
		warn = append(warn, fmt.Sprintf("%s has no on-demand price; using its %s price", in.Name, p.Kind))
	}
	if ok {
		h.PricePerGPUHour = p.PerGPUHour(in)
		est := ""
		if p.Estimate {
			est = ", estimate"
		}
		unit := "instance-hour"
		if p.PerGPU {
			unit = "GPU-hour"
		}
		src = append(src, fmt.Sprintf("price: %s %s $%.4g per %s = $%.4g per GPU-hour, %s, dated %s (%s%s)", in.Name, p.Kind, p.USDPerHour, unit, h.PricePerGPUHour, joinNonEmpty(" ", p.Region), p.Date, c.Source(p.Source).Key+": "+c.Source(p.Source).Text, est))
	}
	return h, src, warn, nil
}

// GPUHardware describes a GPU given without an instance: links and price
// from the first catalog instance with that GPU and an on-demand price
// (else the first with that GPU), else stated defaults.
func GPUHardware(c *catalog.Catalog, g catalog.GPU) (Hardware, []string, []string) {
	insts := c.InstancesOf(g.Name)
	for _, in := range insts {
		if _, ok := in.FindPrice("on-demand"); ok {
			h, src, warn, err := InstanceHardware(c, in, "")
			if err == nil {
				h.Instance = ""
				src = append(src, fmt.Sprintf("no --instance: links and price taken from %s, the first catalog instance with a %s on-demand price", in.Name, g.Name))
				return h, src, warn
			}
		}
	}
	if len(insts) > 0 {
		h, src, warn, err := InstanceHardware(c, insts[0], "")
		if err == nil {
			h.Instance = ""
			src = append(src, fmt.Sprintf("no --instance: links and price taken from %s", insts[0].Name))
			return h, src, warn
		}
	}
	gbps, how := networkDefault(c, g)
	h := Hardware{GPU: g, Domain: 8, IntraGBps: g.NVLinkGBps, InterGBps: gbps / 8}
	src := []string{
		fmt.Sprintf("gpu: %s (%s), %s; catalog of %s", g.Name, g.Display, sourceList(c, g.Sources), c.Date),
		fmt.Sprintf("no instance in the catalog has a %s: 8 GPUs per node, NVLink %.0f GB/s, %s", g.Name, g.NVLinkGBps, how),
	}
	return h, src, nil
}

// networkDefault is the inter-node network per GPU (Gbit/s) of a GPU
// without an instance that gives it: the catalog's cluster network for
// the GPU (Hopper and Blackwell clusters: 400 Gb/s per GPU) where it has
// one, else DefaultNetworkGbpsPerGPU; how says which.
func networkDefault(c *catalog.Catalog, g catalog.GPU) (float64, string) {
	if g.ClusterNetworkGbps > 0 {
		return g.ClusterNetworkGbps, fmt.Sprintf("network %.0f Gbit/s per GPU, the catalog's cluster network for a %s (%s)", g.ClusterNetworkGbps, g.Name, sourceList(c, g.Sources))
	}
	return DefaultNetworkGbpsPerGPU, fmt.Sprintf("network %.0f Gbit/s per GPU assumed (a p4d.24xlarge's 400 Gbps over 8 GPUs; the catalog gives no cluster network for a %s)", DefaultNetworkGbpsPerGPU, g.Name)
}

func sourceList(c *catalog.Catalog, keys []string) string {
	out := ""
	for i, k := range keys {
		if i > 0 {
			out += ", "
		}
		s := c.Source(k)
		out += s.Key
		if s.Date != "" {
			out += " (" + s.Date + ")"
		}
	}
	return out
}
