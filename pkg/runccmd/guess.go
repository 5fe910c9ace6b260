package runccmd

// Whether an unknown flag followed by a non-flag token owns that token cannot
// be known; these scans make the guess. Either guess renders the same argv.

// globalReach guesses whether an unknown global flag (a Docker runtimeArg)
// owns the non-flag token after it. It remembers its scans so that a long
// run of unknown flags costs linear time.
type globalReach struct {
	argv []string
	memo map[int]bool // scan start -> whether it reached a subcommand
}

// takesValue says whether an unknown global flag owns argv[j]: it does when
// argv[j] is not a subcommand runc has and taking it as a value lets the
// global flags after it end at a subcommand runc has. Otherwise the flag is
// boolean and argv[j] is the subcommand.
func (g *globalReach) takesValue(argv []string, j int) bool {
	return !isSubcommand(argv[j]) && g.reaches(j+1)
}

// reaches reports whether parsing global flags from argv[k:] stops at a
// subcommand runc has. Every scan position on the way has the same answer.
func (g *globalReach) reaches(k int) bool {
	if g.memo == nil {
		g.memo = make(map[int]bool)
	}
	var seen []int
	answer := func(b bool) bool {
		for _, p := range seen {
			g.memo[p] = b
		}
		return b
	}
	argv := g.argv
	for k < len(argv) {
		if b, ok := g.memo[k]; ok {
			return answer(b)
		}
		seen = append(seen, k)
		s := argv[k]
		switch {
		case !isFlagToken(s):
			return answer(isSubcommand(s))
		case s == "--":
			return answer(k+1 < len(argv) && isSubcommand(argv[k+1]))
		}
		name, _, hasEq := splitFlag(s)
		_, kind := globalFlags.lookup(name)
		switch {
		case hasEq, kind == kindBool:
			k++
		case kind == kindValue:
			k += 2
		case k+1 < len(argv) && !isFlagToken(argv[k+1]):
			// An unknown flag before a non-flag token: a subcommand there
			// ends the flags; any other token is its value when a
			// subcommand follows, which is what the loop goes on to check.
			if isSubcommand(argv[k+1]) {
				return answer(true)
			}
			k += 2
		default:
			k++
		}
	}
	return answer(false)
}

// hasPositional reports whether parsing subcommand flags from argv[k:] would
// stop at a positional token.
func hasPositional(argv []string, k int, t *flagTable) bool {
	for k < len(argv) {
		s := argv[k]
		switch {
		case !isFlagToken(s):
			return true
		case s == "--":
			return k+1 < len(argv)
		}
		name, _, hasEq := splitFlag(s)
		_, kind := t.lookup(name)
		switch {
		case hasEq, kind == kindBool:
			k++
		case kind == kindValue:
			k += 2
		case k+1 < len(argv) && !isFlagToken(argv[k+1]):
			// An unknown flag before a non-flag token: either that token is
			// a positional, or the flag owns it because a positional follows.
			return true
		default:
			k++
		}
	}
	return false
}
