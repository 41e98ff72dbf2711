package aritest

//go:generate go run ./gen -in ../../../../shared/asterisk-ari -out api_gen.go

// apiOp is one ARI operation from the description (see api_gen.go).
type apiOp struct {
	Resource string
	Method   string
	Path     string
	Nickname string
	Response string // responseClass: model, List[model], void, binary
	Params   []apiParam
}

// apiModel is one JSON model of the description.
type apiModel struct {
	SubTypes []string
	Props    []apiProp
}

// apiProp is one model property.
type apiProp struct {
	Name     string
	Type     string
	Required bool
	Values   []string
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
