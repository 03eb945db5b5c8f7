// Package dl opens NVIDIA's shared libraries at run time: dlopen, dlsym and
// dlerror through cgo with nothing but <dlfcn.h>, and the list of places a
// library is looked for. A library that is not found yields a
// *NotFoundError naming every path tried and why each failed.
package dl

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

static const char *flop_dl_path(void *sym) {
	Dl_info info;
	if (dladdr(sym, &info) == 0 || info.dli_fname == NULL) return NULL;
	return info.dli_fname;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// Library is one opened shared library.
type Library struct {
	handle unsafe.Pointer
	// Name is the candidate that was opened (a bare soname or an absolute
	// path); Path is the file the loader actually mapped.
	Name, Path string
}

// Open opens one candidate with RTLD_NOW|RTLD_LOCAL. It refuses anything
// that is neither a bare soname nor an absolute path.
func Open(name string) (*Library, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	runtime.LockOSThread() // dlerror is per thread
	defer runtime.UnlockOSThread()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	h := C.dlopen(cname, C.RTLD_NOW|C.RTLD_LOCAL)
	if h == nil {
		return nil, errors.New(dlerror())
	}
	return &Library{handle: h, Name: name, Path: name}, nil
}

// Sym returns the address of symbol name.
func (l *Library) Sym(name string) (unsafe.Pointer, error) {
	if l == nil || l.handle == nil {
		return nil, fmt.Errorf("dlsym %s: library not open", name)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	C.dlerror() // clear
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	p := C.dlsym(l.handle, cname)
	if p == nil {
		msg := dlerror()
		if msg == "" {
			msg = "symbol is NULL"
		}
		return nil, fmt.Errorf("dlsym %s: %s", name, msg)
	}
	if l.Path == l.Name {
		if f := C.flop_dl_path(p); f != nil {
			l.Path = C.GoString(f)
		}
	}
	return p, nil
}

// SymFirst returns the first of names the library exports (e.g. a _v2
// symbol before its original) and the name found.
func (l *Library) SymFirst(names ...string) (unsafe.Pointer, string, error) {
	var errs []error
	for _, n := range names {
		p, err := l.Sym(n)
		if err == nil {
			return p, n, nil
		}
		errs = append(errs, err)
	}
	return nil, "", errors.Join(errs...)
}

// BindAll resolves every entry of symbols (a key and the names to try for
// it, newest first, as SymFirst does) and returns the addresses by key; the
// error names the library and the first symbol missing.
func (l *Library) BindAll(symbols map[string][]string) (map[string]unsafe.Pointer, error) {
	out := make(map[string]unsafe.Pointer, len(symbols))
	for key, names := range symbols {
		p, _, err := l.SymFirst(names...)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", l.Path, err)
		}
		out[key] = p
	}
	return out, nil
}

// Close unloads the library.
func (l *Library) Close() error {
	if l == nil || l.handle == nil {
		return nil
	}
	if C.dlclose(l.handle) != 0 {
		return errors.New(dlerror())
	}
	l.handle = nil
	return nil
}

func dlerror() string {
	if e := C.dlerror(); e != nil {
		return C.GoString(e)
	}
	return ""
}
