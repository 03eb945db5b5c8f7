package kernels

// Matrix is read access to a matrix's elements as float64, which is how the
// verifier sees every operand whatever its storage type.
type Matrix interface {
	// Dims returns the number of rows and columns.
	Dims() (rows, cols int)
	// At returns element (i, j).
	At(i, j int) float64
}

// RowMajor32 is a row-major float32 matrix.
type RowMajor32 struct {
	Data       []float32
	Rows, Cols int
}

// Dims implements Matrix.
func (m RowMajor32) Dims() (int, int) { return m.Rows, m.Cols }

// At implements Matrix.
func (m RowMajor32) At(i, j int) float64 { return float64(m.Data[i*m.Cols+j]) }

// RowMajor64 is a row-major float64 matrix.
type RowMajor64 struct {
	Data       []float64
	Rows, Cols int
}

// Dims implements Matrix.
func (m RowMajor64) Dims() (int, int) { return m.Rows, m.Cols }

// At implements Matrix.
func (m RowMajor64) At(i, j int) float64 { return m.Data[i*m.Cols+j] }
