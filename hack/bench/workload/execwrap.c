// execwrap: the smallest possible exec-based runc wrapper (execv of the
// real runc, nothing else), statically linked. The pass-through benchmark
// runs it as the floor any wrapper installed as "runc" pays: one execve.
#include <unistd.h>

int main(int argc, char **argv) {
	(void)argc;
	execv(RUNC, argv);
	return 127;
}
