//go:build !unix

package flows

import "context"

// Lock is a no-op on systems without flock: the caller must not run the same process twice at once.
func (d DirStore) Lock(ctx context.Context) (func(), error) {
	return func() {}, ctx.Err()
}
