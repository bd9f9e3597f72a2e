package identity

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
)

// EncryptPassword returns Quay's encrypted_password value: base64 of a
// random IV followed by AES-256-CBC of {"password": …} (PKCS#7 padded), keyed
// from secretKey as Quay derives it, so that tools which decrypt Quay's
// value (e.g. for docker login) can decrypt wharf's too.
func EncryptPassword(secretKey, password string) string {
	plain, _ := json.Marshal(map[string]string{"password": password})
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	for range pad {
		plain = append(plain, byte(pad))
	}
	block, _ := aes.NewCipher(quayCipherKey(secretKey))
	out := make([]byte, aes.BlockSize+len(plain))
	rand.Read(out[:aes.BlockSize])
	cipher.NewCBCEncrypter(block, out[:aes.BlockSize]).CryptBlocks(out[aes.BlockSize:], plain)
	return base64.StdEncoding.EncodeToString(out)
}

// quayCipherKey turns SECRET_KEY into 32 key bytes: an integer's hex bytes,
// a UUID's 16 bytes, else the characters' code points; repeated and cut to 32.
func quayCipherKey(secret string) []byte {
	var raw []byte
	if n, err := strconv.ParseUint(secret, 10, 64); err == nil {
		hex := strconv.FormatUint(n, 16)
		if len(hex)%2 == 1 {
			hex = "0" + hex
		}
		for i := 0; i < len(hex); i += 2 {
			b, _ := strconv.ParseUint(hex[i:i+2], 16, 8)
			raw = append(raw, byte(b))
		}
	} else if u := strings.ReplaceAll(secret, "-", ""); len(u) == 32 && isHex(u) {
		for i := 0; i < 32; i += 2 {
			b, _ := strconv.ParseUint(u[i:i+2], 16, 8)
			raw = append(raw, byte(b))
		}
	} else {
		for _, r := range secret {
			raw = append(raw, byte(r))
		}
	}
	if len(raw) == 0 {
		raw = []byte{0}
	}
	key := make([]byte, 32)
	for i := range key {
		key[i] = raw[i%len(raw)]
	}
	return key
}

func isHex(s string) bool {
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
