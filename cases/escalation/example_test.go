package escalation_test

import (
	"fmt"
	"time"

	"github.com/dargah137/dargah/cases/escalation"
	"github.com/dargah137/dargah/cases/org"
	"github.com/dargah137/dargah/cases/workcal"
)

// A scheduler's view of one unanswered case: where it goes, when each
// level runs out, and who hears about it.
func Example() {
	o, err := org.Load("../../configs/org.yaml")
	if err != nil {
		panic(err)
	}
	ladder, err := escalation.Load("../../configs/escalation.yaml")
	if err != nil {
		panic(err)
	}
	if err := ladder.Validate(o); err != nil {
		panic(err)
	}

	// A pothole reported next to the Holy Shrine on Wednesday evening.
	a, err := o.Route("asphalt", 36.2880, 59.6157, true)
	if err != nil {
		panic(err)
	}
	plan := ladder.For(a.Service)
	start := time.Date(2026, 11, 25, 20, 0, 0, 0, workcal.Tehran())
	for level := 0; level < plan.Len()+1; level++ {
		due := plan.DueAt(start, level, nil)
		targets, err := plan.Targets(o, a, level)
		if err != nil {
			panic(err)
		}
		fmt.Printf("level %d (%s) from %s due %s final=%v\n", level, plan.Level(level).Name,
			workcal.FormatJalali(start, true), workcal.FormatJalali(due, true), plan.Final(level))
		for _, t := range targets {
			fmt.Printf("  %s: %s %v\n", t.Recipient, t.Contact.Email, t.Notify)
		}
		if w, ok := plan.Webhook(a, level); ok {
			fmt.Printf("  webhook: %s\n", w.URL)
		}
		start = due // the next level (or reminder) starts at the deadline, not when the scheduler woke up
	}
	// Output:
	// level 0 (head) from 1405/09/04 20:00 due 1405/09/08 20:00 final=false
	//   department_head: civil.samen@mashhad.example [email sms]
	//   webhook: https://oa.mashhad.example/dargah/civil_works
	// level 1 (deputy) from 1405/09/08 20:00 due 1405/09/09 20:00 final=false
	//   department_deputy: civil.deputy@mashhad.example [email sms]
	//   webhook: https://oa.mashhad.example/dargah/civil_works
	// level 2 (final) from 1405/09/09 20:00 due 1405/09/10 20:00 final=true
	//   department_manager: civil.manager@mashhad.example [email sms]
	//   inspection: inspection@mashhad.example [email sms]
	//   webhook: https://oa.mashhad.example/dargah/civil_works
	// level 3 (final) from 1405/09/10 20:00 due 1405/09/11 20:00 final=true
	//   department_manager: civil.manager@mashhad.example [email sms]
	//   inspection: inspection@mashhad.example [email sms]
	//   webhook: https://oa.mashhad.example/dargah/civil_works
}
