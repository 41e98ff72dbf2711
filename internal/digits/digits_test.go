package digits

import "testing"

func TestDigits(t *testing.T) {
	if got := ToASCII("کد ۱۲۳-٤٥٦ 789"); got != "کد 123-456 789" {
		t.Errorf("ToASCII = %q", got)
	}
	if got := ToPersian("1405/09/06 ساعت 14"); got != "۱۴۰۵/۰۹/۰۶ ساعت ۱۴" {
		t.Errorf("ToPersian = %q", got)
	}
}
