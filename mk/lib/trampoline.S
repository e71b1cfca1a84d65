/*
 * The exported functions of one Xen-named library (libxenevtchn.so.1, ...):
 * each NAME jumps to xensim_impl_NAME in libxensim.so.0, through the GOT, with
 * its arguments and return untouched, so one file serves every signature.
 * XENSIM_TRAMP_LIST names a generated file of TRAMP(NAME) lines.
 */
#if defined(__x86_64__)
#define TRAMP(name)                                                            \
	.globl name;                                                           \
	.type name, @function;                                                 \
	.p2align 4;                                                            \
name:                                                                          \
	jmp *xensim_impl_##name@GOTPCREL(%rip);                                \
	.size name, .-name;
#elif defined(__aarch64__)
#define TRAMP(name)                                                            \
	.globl name;                                                           \
	.type name, %function;                                                 \
	.p2align 4;                                                            \
name:                                                                          \
	adrp x16, :got:xensim_impl_##name;                                     \
	ldr x16, [x16, #:got_lo12:xensim_impl_##name];                         \
	br x16;                                                                \
	.size name, .-name;
#else
#error "xensim: Xen-named library trampolines exist for x86_64 and aarch64 only"
#endif

	.text
#include XENSIM_TRAMP_LIST

	.section .note.GNU-stack, "", %progbits
