package nn

import (
	"fmt"
	"math"

	"github.com/snnkit/snnkit/tensor"
)

// SoftmaxCrossEntropy returns the mean cross-entropy of logits [B, C]
// against class labels (torch.nn.CrossEntropyLoss with mean reduction), the
// number of samples whose argmax equals the label, and, when grad is not
// nil, writes d(loss)/d(logits) into it.
func SoftmaxCrossEntropy(logits *tensor.Tensor, labels []int, grad *tensor.Tensor) (loss float64, correct int, err error) {
	if len(logits.Shape) != 2 {
		return 0, 0, fmt.Errorf("cross-entropy: logits have shape %s, want [batch, classes]", tensor.ShapeString(logits.Shape))
	}
	b, c := logits.Shape[0], logits.Shape[1]
	if len(labels) != b {
		return 0, 0, fmt.Errorf("cross-entropy: %d labels for a batch of %d", len(labels), b)
	}
	if grad != nil {
		grad.Resize(b, c)
	}
	for i := 0; i < b; i++ {
		row := logits.Data[i*c : (i+1)*c]
		y := labels[i]
		if y < 0 || y >= c {
			return 0, 0, fmt.Errorf("cross-entropy: label %d of sample %d outside [0, %d)", y, i, c)
		}
		am := tensor.ArgMax(row)
		if am == y {
			correct++
		}
		mx := float64(row[am])
		var z float64
		for _, v := range row {
			z += math.Exp(float64(v) - mx)
		}
		lz := math.Log(z) + mx
		loss += lz - float64(row[y])
		if grad != nil {
			g := grad.Data[i*c : (i+1)*c]
			for j, v := range row {
				p := math.Exp(float64(v) - lz)
				if j == y {
					p--
				}
				g[j] = float32(p / float64(b))
			}
		}
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, correct, fmt.Errorf("cross-entropy: loss is %v (diverged)", loss)
	}
	return loss / float64(b), correct, nil
}
