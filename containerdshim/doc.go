// Package containerdshim is containerd's runtime v2 shim for Nucleus
// (containerd-shim-nucleus-v2, runtime type io.containerd.nucleus.v2): it
// serves containerd's task API (containerd.task.v2.Task over ttrpc) and
// turns each task into a nucleusd container through the Go SDK in client/.
//
// The shim holds no container itself: nucleusd's supervisors do, so a shim
// that dies loses nothing but its connection. What the shim keeps is the
// bridge between containerd's stdio FIFOs and nucleusd's streams, the exit
// statuses it has seen, and the events it owes containerd.
//
// It speaks the plain-address start protocol (the "start" action prints a
// ttrpc address), which containerd 1.6 requires and containerd 2.x still
// accepts as a version 2 shim.
package containerdshim
