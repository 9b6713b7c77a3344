package realtime

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// serverFrame builds an unmasked frame with a payload of n bytes.
func serverFrame(n int, fill byte) []byte {
	var h []byte
	switch {
	case n < 126:
		h = []byte{0x81, byte(n)}
	case n <= 0xffff:
		h = binary.BigEndian.AppendUint16([]byte{0x81, 126}, uint16(n))
	default:
		h = binary.BigEndian.AppendUint64([]byte{0x81, 127}, uint64(n))
	}
	return append(h, bytes.Repeat([]byte{fill}, n)...)
}

// writeRecorder keeps each write it is given.
type writeRecorder struct{ writes [][]byte }

func (r *writeRecorder) Write(p []byte) (int, error) {
	r.writes = append(r.writes, bytes.Clone(p))
	return len(p), nil
}

// TestFrameWriterWritesWholeFrames: written as coder/websocket writes them
// (header, payload, flush) through the small bufio.Writer, every frame
// reaches the socket in exactly one write, whatever its size.
func TestFrameWriterWritesWholeFrames(t *testing.T) {
	t.Parallel()
	rec := &writeRecorder{}
	bw := bufio.NewWriterSize(&frameWriter{w: rec}, writeBufferSize)
	var want [][]byte
	for i, n := range []int{0, 5, 125, 126, 127, 500, 4096, 70000, 2} {
		f := serverFrame(n, byte('a'+i))
		want = append(want, f)
		hlen := len(f) - n
		_, _ = bw.Write(f[:hlen])
		_, _ = bw.Write(f[hlen:])
		require.NoError(t, bw.Flush())
	}
	require.Equal(t, want, rec.writes)
}

// TestFrameWriterAnyPieces: frames cut in arbitrary pieces come out intact,
// in order, each write ending where a frame ends.
func TestFrameWriterAnyPieces(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	var stream []byte
	var ends []int
	for i := range 200 {
		stream = append(stream, serverFrame(rng.IntN(300)+[]int{0, 200, 70000}[i%3]*(i%7/6), byte(i))...)
		ends = append(ends, len(stream))
	}
	rec := &writeRecorder{}
	fw := &frameWriter{w: rec}
	for rest := stream; len(rest) > 0; {
		k := min(len(rest), 1+rng.IntN(400))
		n, err := fw.Write(rest[:k])
		require.NoError(t, err)
		require.Equal(t, k, n)
		rest = rest[k:]
	}
	var got []byte
	for _, w := range rec.writes {
		got = append(got, w...)
		require.Contains(t, ends, len(got), "a write ends inside a frame")
	}
	require.Equal(t, stream, got)
	require.Nil(t, fw.pending, "nothing held between frames")
}
