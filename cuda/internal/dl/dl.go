// Package dl opens NVIDIA's shared libraries at run time: dlopen, dlsym and
// dlerror through cgo with nothing but <dlfcn.h>, and the list of places a
// library is looked for. A library that is not found yields a
// *NotFoundError naming every path tried and why each failed.
package dl

/*
#cgo LDFLAGS: -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>

static const char *flop_dl_handle_path(void *h) {
	struct link_map *lm = NULL;
	if (dlinfo(h, RTLD_DI_LINKMAP, &lm) != 0 || lm == NULL || lm->l_name == NULL || lm->l_name[0] == 0) return NULL;
	return lm->l_name;
}

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
	"strings"
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
func Open(name string) (*Library, error) { return open(name, C.RTLD_NOW|C.RTLD_LOCAL) }

// OpenLazy opens one candidate with RTLD_LAZY|RTLD_LOCAL, only to look at
// its symbols: nothing it holds becomes visible to the process, and its
// functions are not bound until called.
func OpenLazy(name string) (*Library, error) { return open(name, C.RTLD_LAZY|C.RTLD_LOCAL) }

func open(name string, flags C.int) (*Library, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	runtime.LockOSThread() // dlerror is per thread
	defer runtime.UnlockOSThread()
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	h := C.dlopen(cname, flags)
	if h == nil {
		return nil, errors.New(dlerror())
	}
	l := &Library{handle: h, Name: name, Path: name}
	if f := C.flop_dl_handle_path(h); f != nil {
		l.Path = C.GoString(f)
	}
	return l, nil
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

// Missing returns the first entry of require (each a list of alternative
// names, newest first) of which the library exports no name, or "" when
// it exports one of every entry. Alternatives are joined with "|".
func (l *Library) Missing(require [][]string) string {
	for _, alts := range require {
		if _, _, err := l.SymFirst(alts...); err != nil {
			return strings.Join(alts, "|")
		}
	}
	return ""
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
