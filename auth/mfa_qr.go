package auth

import (
	"bytes"
	"context"
	"fmt"
	"image/png"

	"github.com/pquerna/otp/totp"

	"whitecross"
)

// qrSize is the width and height of the set-up QR code in pixels: large
// enough for a phone camera to read from a laptop screen.
const qrSize = 256

// TOTPQRCode implements whitecross.MFAService: the PNG QR code of the
// otpauth URL of the caller's unconfirmed secret, drawn on the server
// (pquerna/otp, with boombuler/barcode) so the page needs no script for it.
func (s *Service) TOTPQRCode(ctx context.Context) ([]byte, error) {
	actor, user, err := s.mfaCaller(ctx)
	if err != nil {
		return nil, err
	}
	st, err := s.deps.MFA.FindTOTP(ctx, actor.TenantID, actor.UserID)
	if err == nil && st.Confirmed {
		err = whitecross.Errorf(whitecross.ENOTFOUND, "No two-step sign-in is being set up.")
	}
	if err != nil {
		return nil, err
	}
	raw, err := secretBytes(st.Secret)
	if err != nil {
		return nil, err
	}
	key, err := totp.Generate(totp.GenerateOpts{Issuer: totpIssuer, AccountName: user.Email, Period: totpPeriod,
		Digits: totpOpts.Digits, Algorithm: totpOpts.Algorithm, Secret: raw})
	if err != nil {
		return nil, fmt.Errorf("totp key: %w", err)
	}
	img, err := key.Image(qrSize, qrSize)
	if err != nil {
		return nil, fmt.Errorf("draw qr code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("encode qr code: %w", err)
	}
	return buf.Bytes(), nil
}

// secretBytes decodes a stored base32 secret.
func secretBytes(secret string) ([]byte, error) {
	raw, err := recoveryEncoding.DecodeString(secret)
	if err != nil {
		return nil, fmt.Errorf("decode totp secret: %w", err)
	}
	return raw, nil
}
