package vault

import (
	"bytes"
	"errors"
	"testing"
)

func TestDataKey(t *testing.T) {
	t.Parallel()
	k1, k2 := NewDataKey(), NewDataKey()
	if len(k1) != KeySize || bytes.Equal(k1, k2) {
		t.Fatalf("data keys must be %d random bytes", KeySize)
	}
	ad := []byte("tenant|message|body")
	sealed, err := sealWith(k1, []byte("Lily has a fever"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("fever")) {
		t.Fatal("sealed value contains the plaintext")
	}
	again, err := sealWith(k1, []byte("Lily has a fever"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(sealed, again) {
		t.Fatal("two seals of one plaintext must differ (random nonce)")
	}
	plain, err := openWith(k1, sealed, ad)
	if err != nil || string(plain) != "Lily has a fever" {
		t.Fatalf("open = %q, %v", plain, err)
	}
	if _, err := openWith(k1, sealed, []byte("tenant|other|body")); !errors.Is(err, ErrTampered) {
		t.Fatalf("other associated data: %v, want ErrTampered", err)
	}
	if _, err := openWith(k2, sealed, ad); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("other key: %v, want ErrWrongKey", err)
	}
	flipped := bytes.Clone(sealed)
	flipped[len(flipped)-1] ^= 1
	if _, err := openWith(k1, flipped, ad); !errors.Is(err, ErrTampered) {
		t.Fatalf("altered value: %v, want ErrTampered", err)
	}
	if _, err := sealWith(k1[:16], []byte("x"), ad); err == nil {
		t.Fatal("a short key must be refused")
	}
	if _, err := openWith(nil, sealed, ad); err == nil {
		t.Fatal("a missing key must be refused")
	}
}

func sealWith(key, plaintext, ad []byte) ([]byte, error) {
	v, err := New(key)
	if err != nil {
		return nil, err
	}
	return v.Seal(plaintext, ad)
}

func openWith(key, sealed, ad []byte) ([]byte, error) {
	v, err := New(key)
	if err != nil {
		return nil, err
	}
	return v.Open(sealed, ad)
}
