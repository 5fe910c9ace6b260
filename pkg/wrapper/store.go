package wrapper

import (
	"github.com/arch-ckpt/arch/pkg/archspec"
	"github.com/arch-ckpt/arch/pkg/ckpt"
	"github.com/arch-ckpt/arch/pkg/state"
)

// openStore opens the checkpoint store a record names, placed again below
// the node's allowed roots, and signing (commit) and checking (restore)
// with the node's image_hmac_key_file when it has one.
func (c *call) openStore(path string) (*ckpt.Store, error) {
	store, err := archspec.OpenStore(c.cfg.Allowed(), path)
	if err != nil {
		return nil, err
	}
	signer, err := archspec.Signer(c.cfg.ImageHMACKeyFile)
	if err != nil {
		return nil, err
	}
	return store.SignWith(signer), nil
}

// recordStore opens the store a record names and parses its key.
func (c *call) recordStore(rec *state.Record) (*ckpt.Store, ckpt.Key, error) {
	store, err := c.openStore(rec.Store)
	if err != nil {
		return nil, ckpt.Key{}, err
	}
	key, err := ckpt.ParseKey(rec.Key)
	return store, key, err
}
