package kernels

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// family is what a Hugging Face model_type implies beyond its config keys.
type family struct {
	arch      Arch
	gated     bool     // the MLP is gated (silu → SwiGLU, gelu → GeGLU)
	tied      bool     // tie_word_embeddings when the config omits it
	positions Position // "" → the architecture's
	act       string   // hidden_act when the config omits it
	// slidingSwitch: the sliding window applies only with
	// use_sliding_window true (Qwen); otherwise a non-null sliding_window
	// applies.
	slidingSwitch bool
}

// families are the Hugging Face model_types ParseHFConfig reads, with the
// defaults their transformers configuration classes use.
var families = map[string]family{
	"llama":       {arch: Llama, gated: true, act: "silu"},
	"mistral":     {arch: Llama, gated: true, act: "silu"},
	"mixtral":     {arch: Llama, gated: true, act: "silu"},
	"qwen2":       {arch: Llama, gated: true, act: "silu", slidingSwitch: true},
	"qwen2_moe":   {arch: Llama, gated: true, act: "silu", slidingSwitch: true},
	"qwen3":       {arch: Llama, gated: true, act: "silu", slidingSwitch: true},
	"qwen3_moe":   {arch: Llama, gated: true, act: "silu", slidingSwitch: true},
	"deepseek_v2": {arch: Llama, gated: true, act: "silu"},
	"deepseek_v3": {arch: Llama, gated: true, act: "silu"},
	"gpt_oss":     {arch: Llama, gated: true, act: "silu"},
	"nemotron":    {arch: Llama, act: "relu2"},
	"gpt2":        {arch: GPT, tied: true, positions: PosLearned, act: "gelu_new"},
	"gpt_neox":    {arch: GPT, positions: PosRotary, act: "gelu"},
	"mpt":         {arch: GPT, tied: true, positions: PosALiBi, act: "gelu"},
}

// HFModelTypes returns the Hugging Face model_types ParseHFConfig reads,
// sorted.
func HFModelTypes() []string {
	out := make([]string, 0, len(families))
	for t := range families {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// hfConfig is a decoded config.json with its numbers kept as json.Number.
type hfConfig map[string]any

// get returns the first of keys present with a non-null value.
func (c hfConfig) get(keys ...string) (string, any, bool) {
	for _, k := range keys {
		if v, ok := c[k]; ok && v != nil {
			return k, v, true
		}
	}
	return "", nil, false
}

func (c hfConfig) has(keys ...string) bool {
	_, _, ok := c.get(keys...)
	return ok
}

// int reads an integer from the first present key, within lo..hi. Absent:
// def when required is false, else an error naming the keys.
func (c hfConfig) int(required bool, def, lo, hi int, keys ...string) (int, error) {
	k, v, ok := c.get(keys...)
	if !ok {
		if required {
			return 0, fmt.Errorf("missing %s", strings.Join(keys, " or "))
		}
		return def, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, fmt.Errorf("%s: %s is not a number", k, short(v))
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%s: %s is out of range", k, n)
	}
	if f != math.Trunc(f) {
		return 0, fmt.Errorf("%s: %s is not a whole number", k, n)
	}
	if f < float64(lo) || f > float64(hi) {
		return 0, fmt.Errorf("%s: %s must be within %d..%d", k, n, lo, hi)
	}
	return int(f), nil
}

// prob reads a number in [0, 1) from the first present key (0 when absent).
func (c hfConfig) prob(keys ...string) (float64, error) {
	k, v, ok := c.get(keys...)
	if !ok {
		return 0, nil
	}
	n, isNum := v.(json.Number)
	if !isNum {
		return 0, fmt.Errorf("%s: %s is not a number", k, short(v))
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || !(f >= 0 && f < 1) {
		return 0, fmt.Errorf("%s: %s must be within [0, 1)", k, n)
	}
	return f, nil
}

func (c hfConfig) bool(def bool, key string) (bool, error) {
	_, v, ok := c.get(key)
	if !ok {
		return def, nil
	}
	b, isBool := v.(bool)
	if !isBool {
		return false, fmt.Errorf("%s: %s is not true or false", key, short(v))
	}
	return b, nil
}

func (c hfConfig) str(key string) (string, bool, error) {
	_, v, ok := c.get(key)
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr {
		return "", true, fmt.Errorf("%s: %s is not a string", key, short(v))
	}
	return s, true, nil
}

// object returns the nested object at key, or nil.
func (c hfConfig) object(key string) (hfConfig, error) {
	_, v, ok := c.get(key)
	if !ok {
		return nil, nil
	}
	o, isObj := v.(map[string]any)
	if !isObj {
		return nil, fmt.Errorf("%s: %s is not an object", key, short(v))
	}
	return hfConfig(o), nil
}

// short renders a JSON value for an error message in at most 40 characters.
func short(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	s := string(b)
	if len(s) > 40 {
		s = s[:37] + "..."
	}
	return s
}

// ParseHFConfig reads a Hugging Face config.json (model_type llama,
// mistral, mixtral, qwen2, qwen2_moe, qwen3, qwen3_moe, deepseek_v2,
// deepseek_v3, gpt_oss, nemotron, gpt2, gpt_neox or mpt) into a Model.
//
// It reads the layer count, widths, heads, key/value heads, head_dim, MLP
// width and activation (hidden_act: silu → SwiGLU, gelu → GeGLU for gated
// families; gelu or relu2 otherwise), vocabulary, tied embeddings, experts
// (routed, per token, shared, expert width, dense first layers or Qwen's
// decoder_sparse_step / mlp_only_layers), latent-attention ranks, sliding
// windows and dropout. The sequence length is seq_length when present, else
// the pre-training length a long-context config records
// (initial_context_length, rope_scaling.original_max_position_embeddings),
// else max_position_embeddings (n_positions, max_seq_len).
//
// An optional "flopcast" object (name, source, seq, batch, aliases,
// total_params, active_params) names the model and overrides the sequence
// length; the embedded presets use it.
//
// Errors are one line naming the field: an unknown model_type, a missing
// or absurd value (negative, zero, beyond MaxModelLayers or MaxModelDim, not
// a whole number) or dimensions that do not form a model.
func ParseHFConfig(data []byte) (Model, error) {
	m, _, err := parseHFConfig(data)
	return m, err
}

// flopcastExtras is the "flopcast" object of an embedded preset.
type flopcastExtras struct {
	aliases []string
}

func parseHFConfig(data []byte) (Model, flopcastExtras, error) {
	var ex flopcastExtras
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return Model{}, ex, fmt.Errorf("config: not JSON: %v", oneLine(err))
	}
	if dec.More() {
		return Model{}, ex, errors.New("config: more than one JSON value")
	}
	obj, ok := raw.(map[string]any)
	if !ok {
		return Model{}, ex, errors.New("config: not a JSON object")
	}
	c := hfConfig(obj)
	m, ex, err := c.model()
	if err != nil {
		return Model{}, ex, fmt.Errorf("config: %v", err)
	}
	return m, ex, nil
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }

// model converts the config; errors name the config key.
func (c hfConfig) model() (Model, flopcastExtras, error) {
	var ex flopcastExtras
	fc, err := c.object("flopcast")
	if err != nil {
		return Model{}, ex, err
	}
	mt, present, err := c.str("model_type")
	if err != nil {
		return Model{}, ex, err
	}
	if !present {
		// A multimodal wrapper keeps the language model in text_config.
		if tc, err := c.object("text_config"); err == nil && tc != nil {
			if _, ok, _ := tc.str("model_type"); ok {
				m, ex, err := tc.model()
				if err != nil {
					return Model{}, ex, fmt.Errorf("text_config: %v", err)
				}
				return m, ex, nil
			}
		}
		return Model{}, ex, errors.New("missing model_type")
	}
	fam, ok := families[mt]
	if !ok {
		return Model{}, ex, fmt.Errorf("model_type %q is not supported (supported: %s)", mt, strings.Join(HFModelTypes(), ", "))
	}
	m := Model{ModelType: mt, Arch: fam.arch, Positions: fam.positions, Batch: 1}
	var errs []error
	geti := func(dst *int, required bool, def, lo, hi int, keys ...string) {
		v, err := c.int(required, def, lo, hi, keys...)
		if err != nil {
			errs = append(errs, err)
		}
		*dst = v
	}
	geti(&m.Layers, true, 0, 1, MaxModelLayers, "num_hidden_layers", "n_layer", "n_layers")
	geti(&m.Hidden, true, 0, 1, MaxModelDim, "hidden_size", "n_embd", "d_model")
	geti(&m.Heads, true, 0, 1, MaxModelDim, "num_attention_heads", "n_head", "n_heads")
	geti(&m.Vocab, true, 0, 1, MaxModelDim, "vocab_size")
	if len(errs) > 0 {
		return Model{}, ex, errs[0]
	}
	geti(&m.KVHeads, false, m.Heads, 1, MaxModelDim, "num_key_value_heads")
	geti(&m.HeadSize, false, 0, 1, MaxModelDim, "head_dim")
	// MLP width.
	switch mt {
	case "gpt2":
		geti(&m.FFN, false, 4*m.Hidden, 1, MaxModelDim, "n_inner")
	case "mpt":
		ratio, err := c.int(false, 4, 1, 1024, "expansion_ratio")
		if err != nil {
			errs = append(errs, err)
		}
		geti(&m.FFN, false, ratio*m.Hidden, 1, MaxModelDim, "ffn_hidden_size")
	default:
		geti(&m.FFN, true, 0, 1, MaxModelDim, "intermediate_size")
	}
	// Sequence length: flopcast.seq, seq_length, the pre-training length
	// a long-context config records (GPT-OSS's initial_context_length,
	// rope_scaling.original_max_position_embeddings), then the position
	// limit.
	geti(&m.Seq, true, 0, 1, MaxModelDim, "seq_length", "initial_context_length", "max_position_embeddings", "n_positions", "max_seq_len")
	if len(errs) > 0 {
		return Model{}, ex, errs[0]
	}
	if !c.has("seq_length", "initial_context_length") {
		rs, err := c.object("rope_scaling")
		if err != nil {
			return Model{}, ex, err
		}
		if rs != nil && rs.has("original_max_position_embeddings") {
			if m.Seq, err = rs.int(true, 0, 1, MaxModelDim, "original_max_position_embeddings"); err != nil {
				return Model{}, ex, fmt.Errorf("rope_scaling.%v", err)
			}
		}
	}
	// Embeddings, activation, positions.
	if m.TiedEmbeddings, err = c.bool(fam.tied, "tie_word_embeddings"); err != nil {
		return Model{}, ex, err
	}
	act, present, err := c.str("hidden_act")
	if err == nil && !present {
		act, _, err = c.str("activation_function") // gpt2
	}
	if err != nil {
		return Model{}, ex, err
	}
	if act == "" {
		act = fam.act
	}
	if m.MLP, err = mlpFromAct(mt, act, fam.gated); err != nil {
		return Model{}, ex, err
	}
	if mt == "mpt" {
		ac, err := c.object("attn_config")
		if err != nil {
			return Model{}, ex, err
		}
		alibi := true
		if ac != nil {
			if alibi, err = ac.bool(true, "alibi"); err != nil { // the released MPT models use ALiBi
				return Model{}, ex, fmt.Errorf("attn_config.%v", err)
			}
			if m.Dropout, err = ac.prob("attn_pdrop"); err != nil {
				return Model{}, ex, fmt.Errorf("attn_config.%v", err)
			}
		}
		if !alibi {
			if learned, err := c.bool(true, "learned_pos_emb"); err != nil {
				return Model{}, ex, err
			} else if learned {
				m.Positions = PosLearned
			} else {
				m.Positions = PosRotary
			}
		}
	}
	// Dropout: the largest of the probabilities the config gives.
	for _, k := range []string{"attention_dropout", "hidden_dropout", "resid_pdrop", "attn_pdrop", "embd_pdrop", "emb_pdrop"} {
		p, err := c.prob(k)
		if err != nil {
			return Model{}, ex, err
		}
		m.Dropout = max(m.Dropout, p)
	}
	if err := c.experts(&m); err != nil {
		return Model{}, ex, err
	}
	if err := c.mla(&m); err != nil {
		return Model{}, ex, err
	}
	if err := c.sliding(&m, fam); err != nil {
		return Model{}, ex, err
	}
	if m.HeadSize > 0 && m.HeadSize*m.Heads == m.Hidden {
		m.HeadSize = 0 // the default; kept out so the block workload sees a plain shape
	}
	// Name: flopcast.name, the checkpoint path, the model_type.
	m.Name = mt
	if s, ok, _ := c.str("_name_or_path"); ok && strings.TrimSpace(s) != "" {
		m.Name = strings.TrimSpace(s)
	}
	if fc != nil {
		if err := fc.extras(&m, &ex); err != nil {
			return Model{}, ex, fmt.Errorf("flopcast.%v", err)
		}
	}
	if err := m.Validate(); err != nil {
		return Model{}, ex, hfFieldError(err)
	}
	return m, ex, nil
}

// mlpFromAct maps hidden_act to an MLP kind.
func mlpFromAct(mt, act string, gated bool) (MLPKind, error) {
	a := strings.ToLower(act)
	switch {
	case a == "silu" || a == "swish":
		if gated {
			return MLPSwiGLU, nil
		}
	case strings.HasPrefix(a, "gelu"):
		if gated {
			return MLPGeGLU, nil
		}
		return MLPGELU, nil
	case a == "relu2":
		if !gated {
			return MLPReLU2, nil
		}
	}
	return "", fmt.Errorf("hidden_act %q is not one flopcast counts for model_type %s", act, mt)
}

// experts reads the mixture-of-experts fields.
func (c hfConfig) experts(m *Model) error {
	k, _, ok := c.get("num_local_experts", "n_routed_experts", "num_experts")
	if !ok {
		return nil
	}
	e, err := c.int(true, 0, 0, MaxModelExperts, k)
	if err != nil || e == 0 {
		return err // 0 experts: a dense model
	}
	m.Experts = e
	if m.ActiveExperts, err = c.int(true, 0, 1, e, "num_experts_per_tok", "experts_per_token"); err != nil {
		return err
	}
	if m.SharedExperts, err = c.int(false, 0, 0, MaxModelExperts, "n_shared_experts"); err != nil {
		return err
	}
	if m.ExpertFFN, err = c.int(false, 0, 1, MaxModelDim, "moe_intermediate_size"); err != nil {
		return err
	}
	if c.has("shared_expert_intermediate_size") {
		// Qwen2-MoE: one shared expert of its own width, counted as
		// shared experts of the routed width.
		w, err := c.int(true, 0, 0, MaxModelDim, "shared_expert_intermediate_size")
		if err != nil {
			return err
		}
		if w > 0 {
			if m.ExpertWidth() <= 0 || w%m.ExpertWidth() != 0 {
				return fmt.Errorf("shared_expert_intermediate_size %d is not a multiple of the expert width %d", w, m.ExpertWidth())
			}
			m.SharedExperts = w / m.ExpertWidth()
		}
	}
	// Dense layers: DeepSeek's first_k_dense_replace and moe_layer_freq,
	// Qwen's decoder_sparse_step and mlp_only_layers.
	first, err := c.int(false, 0, 0, MaxModelLayers, "first_k_dense_replace")
	if err != nil {
		return err
	}
	freq, err := c.int(false, 1, 1, MaxModelLayers, "moe_layer_freq")
	if err != nil {
		return err
	}
	sparse, err := c.int(false, 1, 1, MaxModelLayers, "decoder_sparse_step")
	if err != nil {
		return err
	}
	only := map[int]bool{}
	if _, v, ok := c.get("mlp_only_layers"); ok {
		list, isList := v.([]any)
		if !isList {
			return fmt.Errorf("mlp_only_layers: %s is not a list", short(v))
		}
		for _, x := range list {
			n, isNum := x.(json.Number)
			i, err := strconv.Atoi(string(n))
			if !isNum || err != nil || i < 0 || i >= m.Layers {
				return fmt.Errorf("mlp_only_layers: %s is not a layer index below %d", short(x), m.Layers)
			}
			only[i] = true
		}
	}
	if first >= m.Layers {
		return fmt.Errorf("first_k_dense_replace %d leaves no mixture-of-experts layer of %d", first, m.Layers)
	}
	moe := 0
	for i := 0; i < m.Layers; i++ {
		// DeepSeek: i >= first_k_dense_replace and i % moe_layer_freq == 0;
		// Qwen: (i+1) % decoder_sparse_step == 0 and i not in mlp_only_layers.
		if i >= first && i%freq == 0 && (i+1)%sparse == 0 && !only[i] {
			moe++
		}
	}
	if moe == 0 {
		return errors.New("decoder_sparse_step/mlp_only_layers leave no mixture-of-experts layer")
	}
	m.DenseLayers = m.Layers - moe
	return nil
}

// mla reads multi-head latent attention's ranks and head dimensions.
func (c hfConfig) mla(m *Model) error {
	if !c.has("kv_lora_rank") {
		return nil
	}
	var err error
	get := func(dst *int, required bool, key string) {
		if err == nil {
			*dst, err = c.int(required, 0, 1, MaxModelDim, key)
		}
	}
	get(&m.KVLoRARank, true, "kv_lora_rank")
	get(&m.QLoRARank, false, "q_lora_rank")
	get(&m.QKNopeHeadDim, true, "qk_nope_head_dim")
	get(&m.QKRopeHeadDim, true, "qk_rope_head_dim")
	get(&m.VHeadDim, true, "v_head_dim")
	m.HeadSize = 0 // head_dim in DeepSeek configs is the rotary width
	return err
}

// sliding reads a sliding attention window and how many layers use it.
func (c hfConfig) sliding(m *Model, fam family) error {
	if !c.has("sliding_window") {
		return nil
	}
	if fam.slidingSwitch {
		on, err := c.bool(false, "use_sliding_window")
		if err != nil || !on {
			return err
		}
	}
	w, err := c.int(true, 0, 0, MaxModelDim, "sliding_window")
	if err != nil || w == 0 || w >= m.Seq {
		return err
	}
	m.SlidingWindow = w
	if _, v, ok := c.get("layer_types"); ok {
		list, isList := v.([]any)
		if !isList || len(list) != m.Layers {
			return fmt.Errorf("layer_types: not a list of %d layer types", m.Layers)
		}
		n := 0
		for _, t := range list {
			if t == "sliding_attention" {
				n++
			}
		}
		if n == 0 {
			m.SlidingWindow = 0
		}
		m.SlidingLayers = n
		return nil
	}
	switch {
	case m.ModelType == "gpt_oss":
		m.SlidingLayers = (m.Layers + 1) / 2 // alternate layers, the first sliding
	case fam.slidingSwitch:
		// Qwen: layers from max_window_layers on use the window.
		from, err := c.int(false, 0, 0, MaxModelLayers, "max_window_layers")
		if err != nil {
			return err
		}
		m.SlidingLayers = max(0, m.Layers-from)
		if m.SlidingLayers == 0 {
			m.SlidingWindow = 0
		}
	}
	return nil
}

// extras reads the "flopcast" object.
func (c hfConfig) extras(m *Model, ex *flopcastExtras) error {
	if s, ok, err := c.str("name"); err != nil {
		return err
	} else if ok {
		m.Name = s
	}
	if s, ok, err := c.str("source"); err != nil {
		return err
	} else if ok {
		m.Source = s
	}
	var err error
	if m.Seq, err = c.int(false, m.Seq, 1, MaxModelDim, "seq"); err != nil {
		return err
	}
	if m.Batch, err = c.int(false, m.Batch, 1, MaxModelDim, "batch"); err != nil {
		return err
	}
	for _, k := range []string{"total_params", "active_params"} {
		_, v, ok := c.get(k)
		if !ok {
			continue
		}
		n, isNum := v.(json.Number)
		f, perr := strconv.ParseFloat(string(n), 64)
		if !isNum || perr != nil || !(f > 0 && f < 1e18) {
			return fmt.Errorf("%s: %s must be a count above 0", k, short(v))
		}
		if k == "total_params" {
			m.TotalParams = f
		} else {
			m.ActiveParams = f
		}
	}
	if _, v, ok := c.get("aliases"); ok {
		list, isList := v.([]any)
		if !isList {
			return fmt.Errorf("aliases: %s is not a list", short(v))
		}
		for _, a := range list {
			s, isStr := a.(string)
			if !isStr || s == "" {
				return fmt.Errorf("aliases: %s is not a name", short(a))
			}
			ex.aliases = append(ex.aliases, s)
		}
	}
	return nil
}

// hfKeys maps Model fields to the config.json keys they come from, for
// error messages.
var hfKeys = map[string]string{
	"layers": "num_hidden_layers", "hidden": "hidden_size", "heads": "num_attention_heads",
	"kv_heads": "num_key_value_heads", "ffn": "intermediate_size", "seq": "max_position_embeddings",
	"vocab": "vocab_size", "head_dim": "head_dim", "experts": "num_experts", "active_experts": "num_experts_per_tok",
	"shared_experts": "n_shared_experts", "expert_ffn": "moe_intermediate_size", "dense_layers": "first_k_dense_replace",
}

// hfFieldError restates a Validate error with the config.json key.
func hfFieldError(err error) error {
	var me *ModelError
	if errors.As(err, &me) {
		if k, ok := hfKeys[me.Field]; ok && k != me.Field {
			return &ModelError{Field: k, Msg: fmt.Sprintf("%s (config.json %s)", me.Msg, k)}
		}
	}
	return err
}

// LoadModelConfig reads a Hugging Face config.json (see ParseHFConfig).
// A model named only by its model_type takes the name of the file's
// directory (for …/Qwen3-8B/config.json, Qwen3-8B). Errors name the path.
func LoadModelConfig(path string) (Model, error) {
	info, err := os.Stat(path)
	if err != nil {
		return Model{}, fmt.Errorf("model config: %v", err)
	}
	if info.IsDir() {
		path = filepath.Join(path, "config.json")
	} else if info.Size() > 16<<20 {
		return Model{}, fmt.Errorf("model config %s: %d bytes is too large for a config.json", path, info.Size())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Model{}, fmt.Errorf("model config: %v", err)
	}
	m, err := ParseHFConfig(data)
	if err != nil {
		return Model{}, fmt.Errorf("%s: %v", path, strings.TrimPrefix(err.Error(), "config: "))
	}
	if m.Name == m.ModelType {
		if dir := filepath.Base(filepath.Dir(path)); dir != "." && dir != string(filepath.Separator) {
			m.Name = dir
		}
	}
	return m, nil
}
