// Package alta is an acs.Provider for Avigilon Alta (formerly Openpath)
// over its cloud REST API at api.openpath.com.
package alta
