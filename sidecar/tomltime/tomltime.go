// Package tomltime holds the duration type the sidecars' TOML configs use:
// a time.Duration written as a Go duration string ("15ms", "1h").
package tomltime

import "time"

// Duration is a time.Duration written in TOML as a Go duration string.
type Duration time.Duration

// MarshalText writes d as a duration string ("15ms").
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText parses a duration string.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// String is the duration string.
func (d Duration) String() string { return time.Duration(d).String() }
