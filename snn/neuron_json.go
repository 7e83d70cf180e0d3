package snn

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// neuronJSON is the file form of a Neuron, with sinabs' parameter names.
type neuronJSON struct {
	Type           string   `json:"type"`
	SpikeThreshold *float32 `json:"spike_threshold,omitempty"`
	SpikeFn        string   `json:"spike_fn,omitempty"` // multi, single, max:N
	Reset          string   `json:"reset,omitempty"`    // subtract, zero, value:X
	MinVMem        *float32 `json:"min_v_mem"`          // null: no floor
	TauMem         float32  `json:"tau_mem,omitempty"`
	TauSyn         float32  `json:"tau_syn,omitempty"`
	NormInput      bool     `json:"norm_input,omitempty"`
	VInit          float32  `json:"v_init,omitempty"` // initial v, a fraction of spike_threshold
}

// MarshalJSON writes the neuron with sinabs' parameter names, e.g.
// {"type":"IAF","spike_threshold":1,"spike_fn":"multi","reset":"subtract","min_v_mem":-1}.
func (n Neuron) MarshalJSON() ([]byte, error) {
	j := neuronJSON{Type: n.Kind.String(), TauMem: n.TauMem, TauSyn: n.TauSyn, NormInput: n.NormInput, VInit: n.VInit}
	if n.Kind != ExpLeak {
		th := n.Threshold
		j.SpikeThreshold = &th
		j.SpikeFn = SpikeFnString(n.Spike, n.MaxSpikes)
		j.Reset = ResetString(n.Reset, n.ResetValue)
	}
	if n.HasFloor {
		m := n.MinVMem
		j.MinVMem = &m
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads the form MarshalJSON writes, rejecting unknown fields,
// and validates the result.
func (n *Neuron) UnmarshalJSON(b []byte) error {
	var j neuronJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return fmt.Errorf("neuron: %w", err)
	}
	var m Neuron
	switch j.Type {
	case "IAF":
		m.Kind = IAF
	case "LIF":
		m.Kind = LIF
	case "ExpLeak":
		m.Kind = ExpLeak
	default:
		return fmt.Errorf("neuron: unknown type %q (want IAF, LIF or ExpLeak)", j.Type)
	}
	if j.SpikeThreshold != nil {
		m.Threshold = *j.SpikeThreshold
	} else if m.Kind != ExpLeak {
		return fmt.Errorf("neuron: %s needs spike_threshold", j.Type)
	}
	var err error
	if m.Kind != ExpLeak {
		if m.Spike, m.MaxSpikes, err = ParseSpikeFn(j.SpikeFn); err != nil {
			return fmt.Errorf("neuron: %w", err)
		}
		if m.Reset, m.ResetValue, err = ParseReset(j.Reset); err != nil {
			return fmt.Errorf("neuron: %w", err)
		}
	}
	if j.MinVMem != nil {
		m.HasFloor, m.MinVMem = true, *j.MinVMem
	}
	m.TauMem, m.TauSyn, m.NormInput, m.VInit = j.TauMem, j.TauSyn, j.NormInput, j.VInit
	if err := m.Validate(); err != nil {
		return fmt.Errorf("neuron: %w", err)
	}
	*n = m
	return nil
}

// SpikeFnString names a spike function as ParseSpikeFn accepts it.
func SpikeFnString(f SpikeFn, maxSpikes int) string {
	switch f {
	case SingleSpike:
		return "single"
	case MaxSpike:
		return "max:" + strconv.Itoa(maxSpikes)
	}
	return "multi"
}

// ParseSpikeFn reads "multi", "single" or "max:N".
func ParseSpikeFn(s string) (SpikeFn, int, error) {
	switch {
	case s == "multi" || s == "":
		return MultiSpike, 0, nil
	case s == "single":
		return SingleSpike, 0, nil
	case strings.HasPrefix(s, "max:"):
		n, err := strconv.Atoi(s[4:])
		if err != nil || n < 1 || n > 1<<20 {
			return 0, 0, fmt.Errorf("spike function %q: want max:N with N a positive integer", s)
		}
		return MaxSpike, n, nil
	}
	return 0, 0, fmt.Errorf("unknown spike function %q: want multi, single or max:N", s)
}

// ResetString names a reset as ParseReset accepts it.
func ResetString(r Reset, value float32) string {
	if r == ResetSubtract {
		return "subtract"
	}
	if value == 0 {
		return "zero"
	}
	return "value:" + strconv.FormatFloat(float64(value), 'g', -1, 32)
}

// ParseReset reads "subtract", "zero" or "value:X".
func ParseReset(s string) (Reset, float32, error) {
	switch {
	case s == "subtract" || s == "":
		return ResetSubtract, 0, nil
	case s == "zero":
		return ResetToValue, 0, nil
	case strings.HasPrefix(s, "value:"):
		v, err := strconv.ParseFloat(s[6:], 32)
		if err != nil {
			return 0, 0, fmt.Errorf("reset %q: want value:X with X a number", s)
		}
		return ResetToValue, float32(v), nil
	}
	return 0, 0, fmt.Errorf("unknown reset %q: want subtract, zero or value:X", s)
}
