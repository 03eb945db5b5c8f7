package driver

/*
#include "cuda_shim.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// Attr is a CUdevice_attribute value.
type Attr int

// The device attributes flopcast reads (values from the driver API's
// CUdevice_attribute).
const (
	AttrClockRateKHz       Attr = 13
	AttrMultiprocessors    Attr = 16
	AttrECCEnabled         Attr = 32
	AttrPCIBusID           Attr = 33
	AttrPCIDeviceID        Attr = 34
	AttrMemoryClockKHz     Attr = 36
	AttrMemoryBusWidthBits Attr = 37
	AttrL2CacheBytes       Attr = 38
	AttrPCIDomainID        Attr = 50
	AttrComputeMajor       Attr = 75
	AttrComputeMinor       Attr = 76
)

// Device is one GPU by ordinal.
type Device struct {
	Ordinal int
	h       C.CUdevice
}

// GetDevice returns the device with the given ordinal.
func GetDevice(ordinal int) (Device, error) {
	if err := ready(); err != nil {
		return Device{}, err
	}
	var d C.CUdevice
	if err := check("cuDeviceGet", C.flop_cu_devget(fn["deviceGet"], &d, C.int(ordinal))); err != nil {
		return Device{}, err
	}
	return Device{Ordinal: ordinal, h: d}, nil
}

// Name returns the marketing name, e.g. "NVIDIA H100 80GB HBM3".
func (d Device) Name() (string, error) {
	buf := make([]byte, 256)
	err := check("cuDeviceGetName", C.flop_cu_name(fn["deviceName"], (*C.char)(unsafe.Pointer(&buf[0])), C.int(len(buf)), d.h))
	if i := strings.IndexByte(string(buf), 0); i >= 0 {
		buf = buf[:i]
	}
	return string(buf), err
}

// UUID returns the device UUID as nvidia-smi prints it, "GPU-xxxxxxxx-...".
func (d Device) UUID() (string, error) {
	var u [16]byte
	if err := check("cuDeviceGetUuid", C.flop_cu_uuid(fn["deviceUUID"], (*C.uchar)(unsafe.Pointer(&u[0])), d.h)); err != nil {
		return "", err
	}
	return FormatUUID(u), nil
}

// FormatUUID formats 16 bytes as "GPU-8-4-4-4-12" hex groups.
func FormatUUID(u [16]byte) string {
	return fmt.Sprintf("GPU-%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// Attribute returns one device attribute.
func (d Device) Attribute(a Attr) (int, error) {
	var v C.int
	err := check("cuDeviceGetAttribute", C.flop_cu_attr(fn["deviceAttr"], &v, C.int(a), d.h))
	return int(v), err
}

// ComputeCapability returns the major and minor compute capability.
func (d Device) ComputeCapability() (major, minor int, err error) {
	if major, err = d.Attribute(AttrComputeMajor); err != nil {
		return
	}
	minor, err = d.Attribute(AttrComputeMinor)
	return
}

// TotalMemory returns the device memory in bytes.
func (d Device) TotalMemory() (int64, error) {
	var v C.size_t
	err := check("cuDeviceTotalMem", C.flop_cu_totalmem(fn["totalMem"], &v, d.h))
	return int64(v), err
}

// Context is a device's primary context.
type Context struct {
	Device Device
	h      C.CUcontext
}

// RetainPrimaryContext retains the device's primary context.
func (d Device) RetainPrimaryContext() (*Context, error) {
	var c C.CUcontext
	if err := check("cuDevicePrimaryCtxRetain", C.flop_cu_retain(fn["ctxRetain"], &c, d.h)); err != nil {
		return nil, err
	}
	return &Context{Device: d, h: c}, nil
}

// Do runs f on a locked OS thread with the context current. Every call of
// this package other than Load, DriverVersion, DeviceCount and the Device
// methods must run inside Do.
func (c *Context) Do(f func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := check("cuCtxSetCurrent", C.flop_cu_ptr(fn["ctxSetCurrent"], unsafe.Pointer(c.h))); err != nil {
		return err
	}
	return f()
}

// Synchronize waits for all work in the context.
func (c *Context) Synchronize() error {
	return c.Do(func() error { return check("cuCtxSynchronize", C.flop_cu_void(fn["ctxSync"])) })
}

// Release releases the primary context.
func (c *Context) Release() error {
	if c == nil || c.h == nil {
		return nil
	}
	c.h = nil
	return check("cuDevicePrimaryCtxRelease", C.flop_cu_dev(fn["ctxRelease"], c.Device.h))
}
