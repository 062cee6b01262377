"""`extreme target discover`: a target file written from a running cloud, and
`extreme target discover --check TARGET`: every difference between a target and the cloud."""
