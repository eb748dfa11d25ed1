package main

import (
	"context"

	"github.com/acsbridge/acsbridge/acs"
)

// newProvider builds the provider selected by the global flags.
func (a *app) newProvider() (acs.Provider, error) {
	switch a.g.provider {
	case "":
		return nil, usagef("--provider is required (genetec, lenel or brivo)")
	}
	return nil, usagef("unknown --provider %q; want genetec, lenel or brivo", a.g.provider)
}

func (a *app) simulate(ctx context.Context, args []string) error {
	return usagef("simulate: want genetec, lenel or brivo")
}
