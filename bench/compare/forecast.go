package compare

import (
	"fmt"

	"github.com/flopcast/flopcast/bench/catalog"
	"github.com/flopcast/flopcast/bench/forecast"
	"github.com/flopcast/flopcast/kernels"
)

// CatalogOptions returns Options whose prices come from the catalog (the
// column's instance type, else the first catalog instance with its GPU) and
// whose reference-run rows come from the forecast, fed with the column's
// own verified bf16 GEMM measurements where it has them and the catalog's
// datasheet default otherwise.
func CatalogOptions(c *catalog.Catalog, ref Reference) Options {
	return Options{Price: catalogPrice(c), Estimate: forecastEstimator(c), Reference: ref}
}

// hardware finds the catalog hardware of a column.
func hardware(c *catalog.Catalog, m Machine) (forecast.Hardware, error) {
	if m.InstanceType != "" {
		if in, err := c.Instance(m.InstanceType); err == nil {
			hw, _, _, err := forecast.InstanceHardware(c, in, "")
			return hw, err
		}
	}
	if m.DeviceKind == "cpu" {
		return forecast.Hardware{}, fmt.Errorf("a CPU: the reference run is priced for GPUs")
	}
	g, ok := c.MatchDevice(m.DeviceName)
	if !ok {
		return forecast.Hardware{}, fmt.Errorf("no catalog GPU matches %q", m.DeviceName)
	}
	hw, _, _ := forecast.GPUHardware(c, g)
	return hw, nil
}

// priceInstance is the catalog instance a column is priced by: its own
// instance type, else the first catalog instance with its GPU and an
// on-demand price, else the first with its GPU.
func priceInstance(c *catalog.Catalog, m Machine) (catalog.Instance, bool) {
	if m.InstanceType != "" {
		if in, err := c.Instance(m.InstanceType); err == nil {
			return in, true
		}
	}
	if m.DeviceKind == "cpu" {
		return catalog.Instance{}, false
	}
	g, ok := c.MatchDevice(m.DeviceName)
	if !ok {
		return catalog.Instance{}, false
	}
	insts := c.InstancesOf(g.Name)
	for _, in := range insts {
		if _, ok := in.FindPrice("on-demand"); ok {
			return in, true
		}
	}
	if len(insts) > 0 {
		return insts[0], true
	}
	return catalog.Instance{}, false
}

func catalogPrice(c *catalog.Catalog) PriceFunc {
	return func(m Machine) (Price, bool) {
		in, ok := priceInstance(c, m)
		if !ok || len(in.Prices) == 0 || in.GPUs <= 0 {
			return Price{}, false
		}
		p, ok := in.FindPrice("on-demand")
		if !ok {
			p = in.Prices[0]
		}
		usd := p.PerGPUHour(in)
		if usd <= 0 {
			return Price{}, false
		}
		basis := fmt.Sprintf("%s %s", in.Name, p.Kind)
		if p.Region != "" {
			basis += ", " + p.Region
		}
		basis += ", dated " + p.Date
		if p.Estimate {
			basis += ", an estimate"
		}
		if in.Name != m.InstanceType {
			basis += " (the catalog's instance with this GPU; the files name no catalog instance type)"
		}
		return Price{USDPerGPUHour: usd, Basis: basis}, true
	}
}

func forecastEstimator(c *catalog.Catalog) ReferenceEstimator {
	return func(m Machine, ref Reference) (Estimate, error) {
		model, err := kernels.LookupModel(ref.Model)
		if err != nil {
			return Estimate{}, err
		}
		hw, err := hardware(c, m)
		if err != nil {
			return Estimate{}, err
		}
		speed, err := forecast.MeasuredSpeed(m.File, kernels.BF16, hw.GPU)
		if err != nil {
			if speed, err = forecast.CatalogSpeed(hw.GPU, kernels.BF16); err != nil {
				return Estimate{}, err
			}
		}
		r, err := forecast.Forecast(forecast.Input{
			Model: model, Tokens: ref.Tokens, GPUs: ref.GPUs, Hardware: hw, Speed: speed, DType: kernels.BF16,
			Kernels: forecast.ModernKernels,
		})
		if err != nil {
			return Estimate{}, err
		}
		return Estimate{Days: r.Days, CostUSD: r.CostUSD}, nil
	}
}
