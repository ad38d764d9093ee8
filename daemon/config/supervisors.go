package config

import "time"

// SupervisorsConfig says how nucleusd keeps supervisor processes ready.
type SupervisorsConfig struct {
	Reuse       int      `toml:"reuse" doc:"Containers one supervisor process supervises one after the other: once a container's exit is recorded and its sandbox is gone, its supervisor, back in the state it started in, takes the next create instead of exiting (a process start and exit less per container). 1 gives every container a fresh process."`
	MaxIdle     int      `toml:"max_idle" doc:"Free supervisors kept for the next creates (started ahead of need, or back from their container); more are ended. Each holds 3 MiB of its own memory before its first container and about 6 MiB after, so after a burst of 50 runs about 300 MiB stay taken until idle_timeout; a burst finds that many ready (a process start and exit less per run, most of what a burst on a small host spends beside the sandboxes)."`
	IdleTimeout Duration `toml:"idle_timeout" doc:"Free supervisors beyond one are ended after this long unused."`
}

func defaultSupervisors() SupervisorsConfig {
	return SupervisorsConfig{Reuse: 100, MaxIdle: 64, IdleTimeout: Duration(30 * time.Second)}
}

func (s *SupervisorsConfig) validate(p *problems) {
	if s.Reuse < 1 {
		p.add("supervisors.reuse", "%d is below 1", s.Reuse)
	}
	if s.MaxIdle < 1 {
		p.add("supervisors.max_idle", "%d is below 1", s.MaxIdle)
	}
	if s.IdleTimeout <= 0 {
		p.add("supervisors.idle_timeout", "%s is not positive", time.Duration(s.IdleTimeout))
	}
}
