package cases

import (
	"math"
	"testing"
)

func TestDistanceM(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		lat1, long1, lat2, lng float64
		want, tol              float64
	}{
		{"same point", 36.288, 59.6157, 36.288, 59.6157, 0, 0.001},
		{"30 m north", 36.288, 59.6157, 36.28827, 59.6157, 30, 0.5},
		{"Mashhad to Tehran", 36.2972, 59.6067, 35.6892, 51.3890, 740_000, 15_000},
	} {
		if got := DistanceM(tc.lat1, tc.long1, tc.lat2, tc.lng); math.Abs(got-tc.want) > tc.tol {
			t.Errorf("%s: %.1f m, want %.1f ± %.1f", tc.name, got, tc.want, tc.tol)
		}
	}
}

// Every point within the radius lies inside the box, in every direction.
func TestBoundingBoxHoldsTheCircle(t *testing.T) {
	lat, long, r := 36.288, 59.6157, 50.0
	minLat, maxLat, minLong, maxLong := BoundingBox(lat, long, r)
	for deg := 0; deg < 360; deg += 5 {
		a := float64(deg) * math.Pi / 180
		// Walk out until just inside r metres.
		pl, pg := lat, long
		for s := 0.0; ; s += 1e-6 {
			nl, ng := lat+s*math.Cos(a), long+s*math.Sin(a)
			if DistanceM(lat, long, nl, ng) > r {
				break
			}
			pl, pg = nl, ng
		}
		if pl < minLat || pl > maxLat || pg < minLong || pg > maxLong {
			t.Fatalf("point %.6f,%.6f at %d° is outside the box", pl, pg, deg)
		}
	}
}
