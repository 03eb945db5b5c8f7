package fleet

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Sample is one series of a parsed metrics file.
type Sample struct {
	Labels map[string]string
	Value  float64
}

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// ParseMetrics reads a Prometheus text-format (0.0.4) file strictly, as a
// check of what WriteMetrics writes: every family has one HELP and one
// TYPE line before its samples and its samples together; names and label
// names are valid; label values are quoted with only \\, \" and \n
// escapes; no label repeats in a series and no series repeats; values are
// finite numbers; the file ends with a newline. It returns the samples by
// family.
func ParseMetrics(data []byte) (map[string][]Sample, error) {
	text := string(data)
	if text == "" || !strings.HasSuffix(text, "\n") {
		return nil, fmt.Errorf("empty, or no newline at the end")
	}
	out := map[string][]Sample{}
	typed := map[string]string{}
	helped := map[string]bool{}
	done := map[string]bool{} // families whose samples ended
	current := ""
	seen := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		n := i + 1
		if line == "" {
			return nil, fmt.Errorf("line %d: empty line", n)
		}
		if strings.HasPrefix(line, "#") {
			f := strings.SplitN(line, " ", 4)
			if len(f) < 3 || (f[1] != "HELP" && f[1] != "TYPE") {
				return nil, fmt.Errorf("line %d: a comment that is not HELP or TYPE: %q", n, line)
			}
			name := f[2]
			if !metricName.MatchString(name) {
				return nil, fmt.Errorf("line %d: bad metric name %q", n, name)
			}
			if done[name] || (current == name && len(out[name]) > 0) {
				return nil, fmt.Errorf("line %d: %s %s after its samples", n, f[1], name)
			}
			if f[1] == "HELP" {
				if helped[name] || len(f) != 4 {
					return nil, fmt.Errorf("line %d: HELP %s repeated or empty", n, name)
				}
				helped[name] = true
			} else {
				if _, ok := typed[name]; ok || len(f) != 4 {
					return nil, fmt.Errorf("line %d: TYPE %s repeated or missing", n, name)
				}
				switch f[3] {
				case "gauge", "counter", "untyped":
				default:
					return nil, fmt.Errorf("line %d: TYPE %s %q: not a plain type", n, name, f[3])
				}
				typed[name] = f[3]
			}
			if current != name && current != "" {
				done[current] = true
			}
			current = name
			continue
		}
		name, labels, value, err := parseSampleLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", n, err)
		}
		if _, ok := typed[name]; !ok {
			return nil, fmt.Errorf("line %d: sample of %s before its TYPE", n, name)
		}
		if name != current {
			if done[name] {
				return nil, fmt.Errorf("line %d: samples of %s are not together", n, name)
			}
			done[current] = true
			current = name
		}
		key := name + fmt.Sprint(labels)
		if seen[key] {
			return nil, fmt.Errorf("line %d: series repeated: %s", n, line)
		}
		seen[key] = true
		out[name] = append(out[name], Sample{labels, value})
	}
	for name := range typed {
		if !helped[name] {
			return nil, fmt.Errorf("%s has a TYPE but no HELP", name)
		}
	}
	return out, nil
}

func parseSampleLine(line string) (string, map[string]string, float64, error) {
	labels := map[string]string{}
	var name, rest string
	if i := strings.IndexByte(line, '{'); i >= 0 {
		name, rest = line[:i], line[i+1:]
		for {
			if strings.HasPrefix(rest, "}") {
				rest = rest[1:]
				break
			}
			eq := strings.IndexByte(rest, '=')
			if eq < 0 {
				return "", nil, 0, fmt.Errorf("label without '='")
			}
			ln := rest[:eq]
			if !labelName.MatchString(ln) || strings.HasPrefix(ln, "__") {
				return "", nil, 0, fmt.Errorf("bad label name %q", ln)
			}
			if _, dup := labels[ln]; dup {
				return "", nil, 0, fmt.Errorf("label %s repeated", ln)
			}
			rest = rest[eq+1:]
			if !strings.HasPrefix(rest, `"`) {
				return "", nil, 0, fmt.Errorf("label %s: value not quoted", ln)
			}
			var b strings.Builder
			j := 1
			closed := false
			for j < len(rest) {
				c := rest[j]
				if c == '\\' {
					if j+1 >= len(rest) {
						return "", nil, 0, fmt.Errorf("label %s: dangling escape", ln)
					}
					switch rest[j+1] {
					case '\\':
						b.WriteByte('\\')
					case '"':
						b.WriteByte('"')
					case 'n':
						b.WriteByte('\n')
					default:
						return "", nil, 0, fmt.Errorf("label %s: bad escape \\%c", ln, rest[j+1])
					}
					j += 2
					continue
				}
				if c == '"' {
					closed = true
					break
				}
				b.WriteByte(c)
				j++
			}
			if !closed {
				return "", nil, 0, fmt.Errorf("label %s: unterminated value", ln)
			}
			labels[ln] = b.String()
			rest = rest[j+1:]
			if strings.HasPrefix(rest, ",") {
				rest = rest[1:]
			} else if !strings.HasPrefix(rest, "}") {
				return "", nil, 0, fmt.Errorf("after label %s: want ',' or '}'", ln)
			}
		}
	} else {
		sp := strings.IndexByte(line, ' ')
		if sp < 0 {
			return "", nil, 0, fmt.Errorf("no value")
		}
		name, rest = line[:sp], line[sp:]
	}
	if !metricName.MatchString(name) {
		return "", nil, 0, fmt.Errorf("bad metric name %q", name)
	}
	if !strings.HasPrefix(rest, " ") {
		return "", nil, 0, fmt.Errorf("no space before the value")
	}
	f := strings.Fields(rest)
	if len(f) != 1 {
		return "", nil, 0, fmt.Errorf("want one value (no timestamp): %q", rest)
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil || v != v || v > 1e308 || v < -1e308 {
		return "", nil, 0, fmt.Errorf("value %q: not a finite number", f[0])
	}
	return name, labels, v, nil
}
