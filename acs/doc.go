// Package acs is the provider-neutral contract between a visitor management
// system and an access control system (ACS).
//
// An adapter (package genetec, lenel, brivo, or your own) implements
// Provider: test the connection, list access levels and credential formats,
// provision a grant, revoke a credential, remove a cardholder. What only
// some systems can do lives in small optional interfaces (EventSource,
// MobilePassIssuer, Closer), discovered with a type assertion; each
// documents what to do when it is absent.
//
// # Errors
//
// Every adapter error is an *Error carrying the operation, the provider and
// a Code. errors.Is matches the code's sentinel (ErrNotFound, ErrRateLimited,
// …); errors.As reaches both the *Error and the vendor's own error type.
// Wrap classifies an error exactly once. IsRetryable says whether repeating
// the request later may succeed, and RetryAfterOf how long the ACS asked to
// wait.
//
// # Validation
//
// ValidateGrant is shared by every adapter and runs before any network
// call: an invalid grant is an InvalidArgument error and changes nothing.
//
// # Writing a provider
//
// A new ACS is one package that implements Provider and passes the
// conformance kit in package acstest, which also holds an in-memory Provider
// for tests and examples.
package acs
