package types

// FaultEnv names the variable that, in a binary built with the tag dkgfault
// (never a release build: an ordinary build ignores it), makes this validator
// deal badly: with NYX_DKG_FAULT=bad-dealing its dealing gives the participant
// after it a share that does not match the dealing's commitments. The
// four-validator test runs one such validator to see the others accuse and
// exclude it.
const FaultEnv = "NYX_DKG_FAULT"
