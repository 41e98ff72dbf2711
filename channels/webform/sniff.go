package webform

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
)

// photoTypes are the image types citizens may attach.
var photoTypes = map[string]string{
	"image/jpeg": ".jpg",
	"image/png":  ".png",
	"image/webp": ".webp",
}

// ErrPhotoType and ErrPhotoSize are returned by CheckPhoto.
var (
	ErrPhotoType  = errors.New("photo must be a JPEG, PNG or WebP image")
	ErrPhotoSize  = errors.New("photo is too large")
	ErrPhotoEmpty = errors.New("photo is empty")
)

// CheckPhoto decides a photo's content type from its bytes: the sniffed
// type must be one of JPEG, PNG, WebP, and a declared type (the multipart
// header), when given and specific, must agree — a renamed executable or
// an SVG (which can carry script) is refused whatever it claims to be.
func CheckPhoto(declared string, data []byte, max int64) (string, error) {
	if len(data) == 0 {
		return "", ErrPhotoEmpty
	}
	if int64(len(data)) > max {
		return "", fmt.Errorf("%w: %d bytes, at most %d", ErrPhotoSize, len(data), max)
	}
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	if _, ok := photoTypes[sniffed]; !ok {
		return "", fmt.Errorf("%w (content looks like %s)", ErrPhotoType, sniffed)
	}
	if declared != "" {
		dt, _, err := mime.ParseMediaType(declared)
		if err != nil {
			return "", fmt.Errorf("%w (bad Content-Type %q)", ErrPhotoType, declared)
		}
		dt = strings.ToLower(dt)
		if dt == "image/jpg" || dt == "image/pjpeg" {
			dt = "image/jpeg" // what some browsers and phones send
		}
		if dt != "application/octet-stream" && dt != sniffed {
			return "", fmt.Errorf("%w (declared %s, content is %s)", ErrPhotoType, dt, sniffed)
		}
	}
	return sniffed, nil
}
