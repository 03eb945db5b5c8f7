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
		return forecast.Hardware{}, fmt.Errorf("%s is a CPU; the reference run is priced for GPUs", m.Label)
	}
	g, ok := c.MatchDevice(m.DeviceName)
	if !ok {
		return forecast.Hardware{}, fmt.Errorf("no catalog GPU matches %q", m.DeviceName)
	}
	hw, _, _ := forecast.GPUHardware(c, g)
	return hw, nil
}

func catalogPrice(c *catalog.Catalog) PriceFunc {
	return func(m Machine) (float64, bool) {
		hw, err := hardware(c, m)
		if err != nil || hw.PricePerGPUHour <= 0 {
			return 0, false
		}
		return hw.PricePerGPUHour, true
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
		})
		if err != nil {
			return Estimate{}, err
		}
		return Estimate{Days: r.Days, CostUSD: r.CostUSD}, nil
	}
}
