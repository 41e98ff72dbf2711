package aritest

//go:generate go run ./gen -in ../../../../shared/asterisk-ari -out api_gen.go

// apiOp is one ARI operation from the description (see api_gen.go).
type apiOp struct {
	Resource string
	Method   string
	Path     string
	Nickname string
	Params   []apiParam
}

// apiParam is one parameter of an operation.
type apiParam struct {
	Name     string
	In       string // path, query, body
	Type     string
	Required bool
	Multiple bool
	Values   []string
	HasMin   bool
	Min      int
	HasMax   bool
	Max      int
}
