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
// kill and delete (and anything unknown) go to Go.
static const char *passthrough_cmds[] = {"state", "ps", "exec", "pause", "events", "update",
                                         "list", "features", "spec", "run", "restore", "help", NULL};
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

// arch_config_value reads the "key = VALUE" line of ARCH's configuration
// file. Returns 1 with out set, 0 when the file has no such line (or does
// not exist and was not named explicitly), -1 when in doubt. Not static:
// decide.go calls it from the differential tests.
int arch_config_value(char **envp, const char *key, char *out, size_t outlen) {
	size_t keylen = strlen(key);
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
	if (r < 0 || len >= (ssize_t)sizeof(buf) - 1)
		return -1;
	buf[len] = '\0';
	int found = 0;
	for (char *line = buf; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		while (*line == ' ' || *line == '\t')
			line++;
		if (strncmp(line, key, keylen) == 0) {
			char *p = line + keylen;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p == '=') {
				p++;
				while (*p == ' ' || *p == '\t')
					p++;
				char *end = p + strlen(p);
				while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
					*--end = '\0';
				if (end - p >= 2 && ((*p == '"' && end[-1] == '"') || (*p == '\'' && end[-1] == '\''))) {
					p++;
					*--end = '\0';
				}
				if (strlen(p) >= outlen)
					return -1;
				strcpy(out, p); // the last line wins, as in Go
				found = 1;
			}
		}
		line = next;
	}
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
		return *out ? usable(out, &self) : 0;
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
// default when the file has none) and returns 0, or -1 when in doubt. Not
// static: decide.go calls it from the differential tests.
int arch_state_dir(char **envp, char *dir, size_t dirlen) {
	int c = arch_config_value(envp, "state_dir", dir, dirlen);
	if (c < 0)
		return -1;
	if (c == 0 || !*dir)
		strcpy(dir, "/run/arch");
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
