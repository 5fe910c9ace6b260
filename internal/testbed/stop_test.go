package testbed

import "testing"

func TestUnescapeMount(t *testing.T) {
	if got := unescapeMount(`/tmp/a\040b`); got != "/tmp/a b" {
		t.Fatalf("got %q", got)
	}
}
