// The C side of package fastpath: decide, before the Go runtime starts,
// whether a call can go straight to the real runc. It must never change
// what runc receives and never print anything; when unsure it returns.

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// Global flags of runc that take a separate value (docs/runc-contract.md). These
// tables repeat what Go knows (pkg/runccmd, pkg/wrapper); tables_test.go
// fails when they drift apart.
static const char *global_value_flags[] = {"log", "log-format", "root", "rootless", "criu", NULL};
static const char *global_bool_flags[] = {"debug", "systemd-cgroup", NULL};
// Subcommands ARCH never intercepts. create, start, resume, checkpoint,
// kill, delete and restore (and anything unknown) go to Go.
static const char *passthrough_cmds[] = {"state", "ps", "exec", "pause", "events", "update",
                                         "list", "features", "spec", "run", "help", NULL};
// Of those, the ones Go serializes for enabled containers (pkg/state
// locks.go): they go to Go when an argument names an enabled container.
static const char *freeze_cmds[] = {"exec", "pause", NULL};

static int in_list(const char *s, size_t n, const char **list) {
	for (; *list; list++)
		if (strlen(*list) == n && strncmp(*list, s, n) == 0)
			return 1;
	return 0;
}

static const char *env_get(char **envp, const char *name) {
	size_t n = strlen(name);
	const char *val = NULL;
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			val = *envp + n + 1; // the last assignment wins, as in Go
	return val;
}

// passthrough_at returns the position of the subcommand when argv is a
// call ARCH may hand over (runc --version: argc), 0 otherwise.
static int passthrough_at(int argc, char **argv) {
	int i = 1;
	while (i < argc && argv[i][0] == '-') {
		const char *name = argv[i] + 1;
		if (*name == '-')
			name++;
		if (*name == '\0' || *name == '-')
			return 0; // "-", "--", "---x": let Go decide
		size_t n = strcspn(name, "=");
		int has_value = name[n] == '=';
		if ((n == 7 && strncmp(name, "version", 7) == 0) || (n == 1 && name[0] == 'v'))
			// runc --version prints its version and runs no subcommand;
			// --version=false runs it: let Go decide.
			return has_value ? 0 : argc;
		if (in_list(name, n, global_value_flags)) {
			i += has_value ? 1 : 2;
		} else if (in_list(name, n, global_bool_flags)) {
			i += 1;
		} else {
			return 0; // unknown global flag (Docker runtimeArgs...): Go knows better
		}
	}
	if (i >= argc)
		return 0;
	return in_list(argv[i], strlen(argv[i]), passthrough_cmds) ? i : 0;
}

static int same_file(const char *path, const struct stat *self) {
	struct stat st;
	return stat(path, &st) == 0 && st.st_dev == self->st_dev && st.st_ino == self->st_ino;
}

static int usable(const char *path, const struct stat *self) {
	struct stat st;
	if (path[0] != '/' || stat(path, &st) != 0 || !S_ISREG(st.st_mode) || access(path, X_OK) != 0)
		return 0;
	return !same_file(path, self);
}

// space_len is the length of the white space character (Go's
// unicode.IsSpace, in UTF-8) that p starts with, n bytes being readable;
// 0 when p starts with none.
static size_t space_len(const char *p, size_t n) {
	const unsigned char *u = (const unsigned char *)p;
	if (n >= 1 && (u[0] == ' ' || (u[0] >= '\t' && u[0] <= '\r')))
		return 1;
	if (n >= 2 && u[0] == 0xc2 && (u[1] == 0x85 || u[1] == 0xa0)) // U+0085, U+00A0
		return 2;
	if (n >= 3 && ((u[0] == 0xe1 && u[1] == 0x9a && u[2] == 0x80) ||   // U+1680
	               (u[0] == 0xe2 && u[1] == 0x80 &&                     // U+2000-200A, 2028, 2029, 202F
	                ((u[2] >= 0x80 && u[2] <= 0x8a) || u[2] == 0xa8 || u[2] == 0xa9 || u[2] == 0xaf)) ||
	               (u[0] == 0xe2 && u[1] == 0x81 && u[2] == 0x9f) ||    // U+205F
	               (u[0] == 0xe3 && u[1] == 0x80 && u[2] == 0x80)))     // U+3000
		return 3;
	return 0;
}

// trim narrows [*s, *e) as Go's strings.TrimSpace does: every Unicode
// space at either end. A space is matched at the end by its whole
// encoding, as utf8.DecodeLastRune finds it (its first byte starts a rune).
static void trim(const char **s, const char **e) {
	size_t k;
	while (*s < *e && (k = space_len(*s, *e - *s)) > 0)
		*s += k;
	while (*e > *s) {
		if (space_len(*e - 1, 1) == 1)
			*e -= 1;
		else if (*e - *s >= 2 && space_len(*e - 2, 2) == 2)
			*e -= 2;
		else if (*e - *s >= 3 && space_len(*e - 3, 3) == 3)
			*e -= 3;
		else
			break;
	}
}

// config_lookup reads key in a configuration's text exactly as Go's
// config.parse splits it: lines, spaces trimmed, '#' to the end of the
// line dropped, "key = value", one pair of quotes taken off the value. The
// last line of the key wins. Returns 1 with out set, 0 when no line has
// the key, -1 when its value does not fit.
static int config_lookup(const char *text, size_t len, const char *key, char *out, size_t outlen) {
	size_t keylen = strlen(key);
	const char *end = text + len;
	int found = 0;
	for (const char *line = text; line < end;) {
		const char *nl = memchr(line, '\n', end - line);
		const char *s = line, *e = nl ? nl : end;
		line = nl ? nl + 1 : end;
		trim(&s, &e);
		const char *hash = memchr(s, '#', e - s);
		if (hash) {
			e = hash;
			trim(&s, &e);
		}
		const char *eq = memchr(s, '=', e - s);
		if (!eq)
			continue;
		const char *k = s, *ke = eq;
		trim(&k, &ke);
		if ((size_t)(ke - k) != keylen || memcmp(k, key, keylen) != 0)
			continue;
		const char *v = eq + 1, *ve = e;
		trim(&v, &ve);
		if (ve - v >= 2 && (*v == '"' || *v == '\'') && ve[-1] == *v) {
			v++;
			ve--;
		}
		if ((size_t)(ve - v) >= outlen)
			return -1;
		memcpy(out, v, ve - v);
		out[ve - v] = '\0';
		found = 1;
	}
	return found;
}

// arch_config_value reads key (runc or state_dir: paths) in ARCH's
// configuration file. Returns 1 with out set, 0 when the file has no such
// line (or does not exist and was not named explicitly), -1 when in doubt:
// the file could not be read whole, holds a NUL, or the last line of the
// key is not an absolute path (Go refuses such a line and keeps an earlier
// one's value). Where it returns a value, it is config.Load's. Not static:
// decide.go calls it from the differential tests.
int arch_config_value(char **envp, const char *key, char *out, size_t outlen) {
	const char *path = env_get(envp, "ARCH_CONFIG");
	int explicit = path && *path;
	if (!explicit)
		path = "/etc/arch/arch.conf";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return explicit ? -1 : 0;
	static char buf[65536];
	ssize_t len = 0, r;
	while (len < (ssize_t)sizeof(buf) - 1 && (r = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += r;
	close(fd);
	if (r < 0 || len >= (ssize_t)sizeof(buf) - 1 || memchr(buf, '\0', len))
		return -1;
	int found = config_lookup(buf, len, key, out, outlen);
	if (found == 1 && out[0] != '/')
		return -1;
	return found;
}

// find_runc mirrors realrunc.Locate: ARCH_RUNC, else the configuration's
// runc, else the first runc in PATH that is not this binary.
static int find_runc(char **envp, char *out, size_t outlen) {
	struct stat self;
	if (stat("/proc/self/exe", &self) != 0)
		return 0;
	const char *env = env_get(envp, "ARCH_RUNC");
	if (env && *env) {
		if (strlen(env) >= outlen || !usable(env, &self))
			return 0;
		strcpy(out, env);
		return 1;
	}
	int c = arch_config_value(envp, "runc", out, outlen);
	if (c < 0)
		return 0;
	if (c == 1)
		return usable(out, &self);
	const char *path = env_get(envp, "PATH");
	for (const char *dir = path; dir && *dir;) {
		const char *colon = strchr(dir, ':');
		size_t n = colon ? (size_t)(colon - dir) : strlen(dir);
		if (n > 0 && dir[0] == '/' && n + 6 < outlen) {
			memcpy(out, dir, n);
			strcpy(out + n, "/runc");
			if (usable(out, &self))
				return 1;
		}
		dir = colon ? colon + 1 : NULL;
	}
	return 0;
}

// arch_state_dir sets dir to the state_dir of ARCH's configuration (its
// default when the file has none) and returns 0, or -1 when in doubt. A
// ".." in it is a doubt: Go names the markers after resolving it in the
// text (filepath.Join), the kernel through symbolic links. Not static:
// decide.go calls it from the differential tests.
int arch_state_dir(char **envp, char *dir, size_t dirlen) {
	int c = arch_config_value(envp, "state_dir", dir, dirlen);
	if (c < 0)
		return -1;
	if (c == 0)
		strcpy(dir, "/run/arch");
	for (const char *p = dir; (p = strstr(p, "..")) != NULL; p += 2)
		if (p[-1] == '/' && (p[2] == '/' || p[2] == '\0'))
			return -1;
	return 0;
}

// names_enabled reports whether an argument after the subcommand at sub
// names a container ARCH marked enabled (<state_dir>/enabled/<id>), or
// whether that cannot be told: then Go decides. Any argument may be the
// id, except a flag: a token of two or more bytes starting with '-'
// before the first "--" (after it, "-c1" is an id; "-" always is one).
static int names_enabled(char **envp, int argc, char **argv, int sub) {
	static char dir[4096], path[8192];
	if (arch_state_dir(envp, dir, sizeof(dir)) < 0)
		return 1;
	int flags_end = 0;
	for (int i = sub + 1; i < argc; i++) {
		const char *a = argv[i];
		size_t n = strlen(a);
		if (!flags_end && n >= 2 && a[0] == '-') {
			flags_end = strcmp(a, "--") == 0;
			continue; // a flag
		}
		if (n == 0 || n > 1024 || strcmp(a, ".") == 0 || strcmp(a, "..") == 0 || strchr(a, '/'))
			continue; // not a container id
		snprintf(path, sizeof(path), "%s/enabled/%s", dir, a);
		if (access(path, F_OK) == 0)
			return 1;
	}
	return 0;
}

// arch_fastpath_decide is the fast path's whole decision: 1 with the real
// runc in runc when argv (with the program name) and envp can go straight
// to runc, 0 when Go decides. It only reads (the configuration, the enabled
// markers, the runc candidates) and prints nothing. Not static: decide.go
// calls it from the differential tests, which hold it to the Go decision.
int arch_fastpath_decide(int argc, char **argv, char **envp, char *runc, size_t runclen) {
	const char *off = env_get(envp, "ARCH_NO_FASTPATH");
	if (argc < 2 || (off && *off))
		return 0;
	int sub = passthrough_at(argc, argv);
	if (sub == 0)
		return 0;
	if (sub < argc && in_list(argv[sub], strlen(argv[sub]), freeze_cmds) && names_enabled(envp, argc, argv, sub))
		return 0;
	return find_runc(envp, runc, runclen);
}

void arch_fastpath(int argc, char **argv, char **envp) {
	static char runc[4096];
	if (arch_fastpath_decide(argc, argv, envp, runc, sizeof(runc)))
		execve(runc, argv, envp);
	// execve failed: Go will try again and report it.
}
