package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hrissync/hrissync"
)

var (
	departments = []string{"Engineering", "Sales", "Marketing", "Finance", "People", "Support", "Operations", "Legal", "Product", "Research"}
	locations   = []string{"New York", "Austin", "London", "Paris", "Bangalore"}
	roles       = []string{"Associate", "Specialist", "Senior Specialist", "Lead", "Manager", "Senior Manager", "Director"}
	skills      = []string{"skill.communication", "skill.sql", "skill.go", "skill.negotiation"}
	givenNames  = []string{"Ada", "Ben", "Chloé", "Dev", "Eun-ji", "Femi", "Grace", "Hugo", "Ines", "Jun", "Kofi", "Lena"}
	familyNames = []string{"Okafor", "Schmidt", "Tanaka", "Dubois", "Singh", "García", "Kowalski", "Nguyen", "Smith", "Rossi"}
)

// org creates people for the simulated company.
type org struct {
	rng    *rand.Rand
	nextID int
}

func (o *org) id() string {
	o.nextID++
	return o.idOf(o.nextID)
}

func (o *org) idOf(n int) string { return fmt.Sprintf("w-%06d", n) }

// person returns a new record starting on start, reporting to manager.
func (o *org) person(start hrissync.Date, manager string, status hrissync.Status) hrissync.Employee {
	id := o.id()
	given, family := pick(o.rng, givenNames), pick(o.rng, familyNames)
	e := hrissync.Employee{
		ID: id, EmployeeNumber: fmt.Sprint(100000 + o.nextID),
		Email:     fmt.Sprintf("%s.%s.%d@example.com", given, family, o.nextID),
		GivenName: given, FamilyName: family, Status: status, StartDate: start,
		Role: pick(o.rng, roles), ManagerID: manager,
		Department: pick(o.rng, departments), Location: pick(o.rng, locations),
		Attributes: map[string]string{"performanceRating": fmt.Sprint(1 + o.rng.IntN(5))},
	}
	for _, s := range skills {
		e.Attributes[s] = fmt.Sprint(1 + o.rng.IntN(5))
	}
	return e
}

// initial returns n people in a manager tree: each reports to someone hired
// before them, so the tree has no cycles and a realistic fan-out.
func (o *org) initial(n int, today hrissync.Date) []hrissync.Employee {
	people := make([]hrissync.Employee, 0, n)
	for i := range n {
		manager := ""
		if i > 0 {
			// Prefer early hires as managers: a pyramid, not a chain.
			manager = people[o.rng.IntN(max(1, i/6+1))].ID
		}
		start := today.AddDays(-30 - o.rng.IntN(3000))
		people = append(people, o.person(start, manager, hrissync.StatusActive))
	}
	return people
}

func pick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// count draws how many events of a daily rate happen today.
func count(rng *rand.Rand, rate float64) int {
	n := int(rate)
	if rng.Float64() < rate-float64(n) {
		n++
	}
	return n
}

// workingTime draws an instant between 08:00 and 18:00 on day in loc.
func workingTime(rng *rand.Rand, day hrissync.Date, loc *time.Location) time.Time {
	return day.Start(loc).Add(8*time.Hour + time.Duration(rng.Int64N(int64(10*time.Hour))))
}
