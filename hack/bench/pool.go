package main

import "sync"

// forEach runs fn on every item, at most width at once, and returns the
// error of each item (nil for those that succeeded), in items' order:
// starting or removing hundreds of containers one ctr call after the other
// takes minutes, all at once overloads containerd.
func forEach(items []string, width int, fn func(string) error) []error {
	errs := make([]error, len(items))
	sem := make(chan struct{}, max(width, 1))
	var wg sync.WaitGroup
	for i, it := range items {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = fn(it)
		}()
	}
	wg.Wait()
	return errs
}

// failures counts the errors of forEach and returns the first.
func failures(errs []error) (n int, first error) {
	for _, err := range errs {
		if err != nil {
			if n == 0 {
				first = err
			}
			n++
		}
	}
	return n, first
}
