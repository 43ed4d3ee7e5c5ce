package gateway

import (
	"net"
	"syscall"
	"unsafe"
)

// unread is the number of bytes that have arrived on nc and wait in the
// kernel to be read (TIOCINQ), or 0 when nc is not a socket, such as a
// TLS connection, whose plaintext is not counted.
func unread(nc net.Conn) int {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return 0
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var n int32
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		_, _, errno = syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&n)))
	}); err != nil || errno != 0 {
		return 0
	}
	return int(n)
}
