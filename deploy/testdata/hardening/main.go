// Command hardening applies to itself the kernel-level effects of systemd
// hardening options that need no mount namespace (seccomp filters modelled
// on systemd's seccomp-util.c, no_new_privs, the capability bounding set,
// the umask) and then execs a command, which inherits them all. try.sh runs
// the e2e suites under it to try nucleusd.service's options without systemd.
// It lives in testdata so that `go build ./...` ignores it; build it with
// `go build ./deploy/testdata/hardening`. x86-64 only.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

var nrs = map[string]uint32{}

func loadNrs() {
	f, err := os.Open("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
	if err != nil {
		panic(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var name string
		var nr uint32
		if n, _ := fmt.Sscanf(s.Text(), "#define __NR_%s %d", &name, &nr); n == 2 {
			nrs[name] = nr
		}
	}
}

// --- a tiny BPF assembler with forward labels ---
type ins struct {
	f       unix.SockFilter
	jt, jf  string // labels ("" = 0)
	jaLabel string
}
type asm struct {
	ins    []ins
	labels map[string]int
	n      int
}

func (a *asm) stmt(code uint16, k uint32) {
	a.ins = append(a.ins, ins{f: unix.SockFilter{Code: code, K: k}})
}
func (a *asm) jump(code uint16, k uint32, jt, jf string) {
	a.ins = append(a.ins, ins{f: unix.SockFilter{Code: code, K: k}, jt: jt, jf: jf})
}
func (a *asm) ja(l string) {
	a.ins = append(a.ins, ins{f: unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JA}, jaLabel: l})
}
func (a *asm) label(l string)   { a.labels[l] = len(a.ins) }
func (a *asm) newLabel() string { a.n++; return fmt.Sprintf("L%d", a.n) }
func (a *asm) build() []unix.SockFilter {
	out := make([]unix.SockFilter, len(a.ins))
	rel := func(i int, l string) uint32 {
		if l == "" {
			return 0
		}
		t, ok := a.labels[l]
		if !ok || t <= i {
			panic("bad label " + l)
		}
		return uint32(t - i - 1)
	}
	for i, in := range a.ins {
		f := in.f
		if in.jaLabel != "" {
			f.K = rel(i, in.jaLabel)
		} else if f.Code&0x07 == unix.BPF_JMP && f.Code != unix.BPF_JMP|unix.BPF_JA {
			jt, jf := rel(i, in.jt), rel(i, in.jf)
			if jt > 255 || jf > 255 {
				panic("jump too far")
			}
			f.Jt, f.Jf = uint8(jt), uint8(jf)
		}
		out[i] = f
	}
	return out
}

const (
	retErrno = unix.SECCOMP_RET_ERRNO
	retKill  = unix.SECCOMP_RET_KILL_PROCESS
	retAllow = unix.SECCOMP_RET_ALLOW
)

type cond struct {
	arg   int
	mask  uint32   // JSET mask != 0
	in    []uint32 // value in set
	notIn []uint32 // value not in set
}

// rule: if nr matches and all conds hold, return action.
func (a *asm) rule(nr uint32, action uint32, conds ...cond) {
	fail := a.newLabel()
	a.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0)
	a.jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, nr, "", fail)
	for _, c := range conds {
		a.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, uint32(16+8*c.arg))
		switch {
		case c.mask != 0:
			a.jump(unix.BPF_JMP|unix.BPF_JSET|unix.BPF_K, c.mask, "", fail)
		case c.in != nil:
			pass := a.newLabel()
			for _, v := range c.in {
				a.jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, v, pass, "")
			}
			a.ja(fail)
			a.label(pass)
		case c.notIn != nil:
			for _, v := range c.notIn {
				a.jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, v, fail, "")
			}
		}
	}
	a.stmt(unix.BPF_RET|unix.BPF_K, action)
	a.label(fail)
}

func eperm() uint32 { return retErrno | uint32(unix.EPERM) }

func main() {
	var (
		nnp        = flag.Bool("nnp", false, "NoNewPrivileges=yes")
		archNative = flag.Bool("arch-native", false, "SystemCallArchitectures=native")
		lockPers   = flag.Bool("lock-personality", false, "LockPersonality=yes")
		rt         = flag.Bool("restrict-realtime", false, "RestrictRealtime=yes")
		suid       = flag.Bool("restrict-suid-sgid", false, "RestrictSUIDSGID=yes")
		hostname   = flag.Bool("protect-hostname-seccomp", false, "ProtectHostname=yes (seccomp half)")
		families   = flag.String("address-families", "", "RestrictAddressFamilies= allow list, numbers comma separated")
		denyGroups = flag.String("deny-syscalls", "", "SystemCallFilter=~ names, comma separated (EPERM)")
		noUserns   = flag.Bool("restrict-userns", false, "RestrictNamespaces=~user")
		bounding   = flag.String("bounding", "", "CapabilityBoundingSet= caps to keep (names, comma separated); empty keeps all")
		umask      = flag.Int("umask", -1, "UMask=")
		mdwe       = flag.Bool("mdwe", false, "MemoryDenyWriteExecute=yes")
	)
	flag.Parse()
	loadNrs()
	runtime.LockOSThread()
	if *umask >= 0 {
		syscall.Umask(*umask)
	}
	if *bounding != "" {
		keep := map[string]bool{}
		for _, c := range strings.Split(*bounding, ",") {
			keep[strings.ToLower(strings.TrimPrefix(strings.TrimSpace(c), "CAP_"))] = true
		}
		for cap := 0; cap <= 40; cap++ {
			name := capName(cap)
			if name == "" || keep[name] {
				continue
			}
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(cap), 0, 0, 0); err != nil && err != unix.EINVAL {
				fmt.Fprintln(os.Stderr, "drop", name, err)
				os.Exit(2)
			}
		}
	}
	if *nnp {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			panic(err)
		}
	}
	a := &asm{labels: map[string]int{}}
	if *archNative {
		a.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 4)
		a.jump(unix.BPF_JMP|unix.BPF_JEQ|unix.BPF_K, unix.AUDIT_ARCH_X86_64, "archok", "")
		a.stmt(unix.BPF_RET|unix.BPF_K, retKill)
		a.label("archok")
		a.stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0)
		a.jump(unix.BPF_JMP|unix.BPF_JGE|unix.BPF_K, 0x40000000, "", "x32ok")
		a.stmt(unix.BPF_RET|unix.BPF_K, retKill)
		a.label("x32ok")
	}
	if *lockPers {
		a.rule(nrs["personality"], eperm(), cond{arg: 0, notIn: []uint32{0, 0xffffffff}})
	}
	if *rt {
		// SCHED_FIFO 1, SCHED_RR 2, SCHED_DEADLINE 6, with or without SCHED_RESET_ON_FORK.
		a.rule(nrs["sched_setscheduler"], eperm(), cond{arg: 1, in: []uint32{1, 2, 6, 0x40000001, 0x40000002, 0x40000006}})
	}
	if *suid {
		const m = unix.S_ISUID | unix.S_ISGID
		a.rule(nrs["chmod"], eperm(), cond{arg: 1, mask: m})
		a.rule(nrs["fchmod"], eperm(), cond{arg: 1, mask: m})
		a.rule(nrs["fchmodat"], eperm(), cond{arg: 2, mask: m})
		a.rule(452, eperm(), cond{arg: 2, mask: m}) // fchmodat2
		a.rule(nrs["creat"], eperm(), cond{arg: 1, mask: m})
		a.rule(nrs["open"], eperm(), cond{arg: 1, mask: unix.O_CREAT}, cond{arg: 2, mask: m})
		a.rule(nrs["openat"], eperm(), cond{arg: 2, mask: unix.O_CREAT}, cond{arg: 3, mask: m})
		a.rule(nrs["openat2"], retErrno|uint32(unix.ENOSYS))
		a.rule(nrs["mkdir"], eperm(), cond{arg: 1, mask: m})
		a.rule(nrs["mkdirat"], eperm(), cond{arg: 2, mask: m})
		a.rule(nrs["mknod"], eperm(), cond{arg: 1, mask: m})
		a.rule(nrs["mknodat"], eperm(), cond{arg: 2, mask: m})
	}
	if *hostname {
		a.rule(nrs["sethostname"], eperm())
		a.rule(nrs["setdomainname"], eperm())
	}
	if *families != "" {
		var allow []uint32
		for _, f := range strings.Split(*families, ",") {
			var v uint32
			fmt.Sscan(f, &v)
			allow = append(allow, v)
		}
		a.rule(nrs["socket"], retErrno|uint32(unix.EAFNOSUPPORT), cond{arg: 0, notIn: allow})
	}
	if *noUserns {
		// HARDENING_USERNS_PARTS (comma separated) picks rules, to bisect.
		parts := os.Getenv("HARDENING_USERNS_PARTS")
		on := func(p string) bool { return parts == "" || slices.Contains(strings.Split(parts, ","), p) }
		if on("unshare") {
			a.rule(nrs["unshare"], eperm(), cond{arg: 0, mask: unix.CLONE_NEWUSER})
		}
		if on("clone") {
			a.rule(nrs["clone"], eperm(), cond{arg: 0, mask: unix.CLONE_NEWUSER})
		}
		if on("setns0") {
			a.rule(nrs["setns"], eperm(), cond{arg: 1, in: []uint32{0}})
		}
		if on("setnsuser") {
			a.rule(nrs["setns"], eperm(), cond{arg: 1, mask: unix.CLONE_NEWUSER})
		}
		if on("clone3") {
			a.rule(nrs["clone3"], retErrno|uint32(unix.ENOSYS))
		}
	}
	if *mdwe {
		// mmap with PROT_WRITE|PROT_EXEC, mprotect/pkey_mprotect adding PROT_EXEC, shmat with SHM_EXEC.
		a.rule(nrs["mmap"], eperm(), cond{arg: 2, mask: unix.PROT_EXEC}, cond{arg: 2, mask: unix.PROT_WRITE})
		a.rule(nrs["mprotect"], eperm(), cond{arg: 2, mask: unix.PROT_EXEC})
		a.rule(nrs["pkey_mprotect"], eperm(), cond{arg: 2, mask: unix.PROT_EXEC})
		a.rule(nrs["shmat"], eperm(), cond{arg: 2, mask: 0o100000})
	}
	if *denyGroups != "" {
		for _, name := range strings.Split(*denyGroups, ",") {
			if nr, ok := nrs[strings.TrimSpace(name)]; ok {
				a.rule(nr, eperm())
			}
		}
	}
	if len(a.ins) > 0 {
		a.stmt(unix.BPF_RET|unix.BPF_K, retAllow)
		prog := a.build()
		fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
		if _, _, e := unix.Syscall(unix.SYS_PRCTL, unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&fprog))); e != 0 {
			fmt.Fprintln(os.Stderr, "seccomp:", e)
			os.Exit(2)
		}
		fmt.Fprintf(os.Stderr, "hardening: seccomp filter of %d instructions installed\n", len(prog))
	}
	args := flag.Args()
	path, err := exec.LookPath(args[0])
	if err != nil {
		panic(err)
	}
	panic(syscall.Exec(path, args, os.Environ()))
}

var capNames = []string{"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill", "setgid", "setuid", "setpcap", "linux_immutable", "net_bind_service", "net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner", "sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct", "sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time", "sys_tty_config", "mknod", "lease", "audit_write", "audit_control", "setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm", "block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore"}

func capName(c int) string {
	if c < len(capNames) {
		return capNames[c]
	}
	return ""
}
