using Microsoft.Data.Analysis;
using NoPrior.LinearAlgebra;
using NoPrior.Networks;
using static TorchSharp.torch;

namespace NoPrior.Training;

/// <summary>Classification loss ℓ(q) of the margin q = yΦ(θ; x).</summary>
public enum MarginLoss
{
    /// <summary>ℓ(q) = log(1 + e^{−q}) (binary cross-entropy with logits).</summary>
    Logistic,
    /// <summary>ℓ(q) = e^{−q}.</summary>
    Exponential,
}

/// <summary>Settings of full-batch gradient descent.</summary>
/// <param name="Steps">Number of GD steps.</param>
/// <param name="LearningRate">Step size η (reference: 0.01 for 10^6 steps; the workbook's fast defaults use larger η).</param>
/// <param name="Loss">Logistic or exponential loss.</param>
/// <param name="Checkpoints">Steps at which to keep a copy of θ (step 0 is the initialisation).</param>
/// <param name="LogEvery">Record a row of the training log every this many steps (and at each checkpoint and the last step).</param>
/// <param name="StopBelowLoss">Stop early once the mean loss falls below this value (null: never).</param>
/// <param name="Title">Label of the progress line.</param>
public sealed record TrainingSettings(int Steps, double LearningRate, MarginLoss Loss = MarginLoss.Logistic,
    int[]? Checkpoints = null, int LogEvery = 100, double? StopBelowLoss = null, string Title = "training");

/// <summary>One row of the training log.</summary>
/// <param name="Step">GD step (0 = the initialisation).</param>
/// <param name="Loss">Mean loss (1/n) Σ_i ℓ(y_i Φ(θ; x_i)).</param>
/// <param name="TrainError">Fraction of points with y_i Φ(θ; x_i) ≤ 0.</param>
/// <param name="MinMargin">q_min = min_i y_i Φ(θ; x_i).</param>
/// <param name="NormalizedMargin">q_min / ‖θ‖^L (Lyu &amp; Li 2020: increases once the data are fitted).</param>
/// <param name="ThetaNorm">‖θ‖.</param>
public sealed record TrainingLogRow(int Step, double Loss, double TrainError, double MinMargin, double NormalizedMargin, double ThetaNorm)
{
    /// <summary>The rows as a table, columns step, loss, train_error, min_margin, normalized_margin, theta_norm.</summary>
    public static DataFrame ToDataFrame(IEnumerable<TrainingLogRow> rows)
    {
        var r = rows.ToList();
        return new(new Int32DataFrameColumn("step", r.Select(x => x.Step)), new DoubleDataFrameColumn("loss", r.Select(x => x.Loss)),
            new DoubleDataFrameColumn("train_error", r.Select(x => x.TrainError)), new DoubleDataFrameColumn("min_margin", r.Select(x => x.MinMargin)),
            new DoubleDataFrameColumn("normalized_margin", r.Select(x => x.NormalizedMargin)), new DoubleDataFrameColumn("theta_norm", r.Select(x => x.ThetaNorm)));
    }
}

/// <summary>The outcome of <see cref="GradientDescent.Train"/>: the final network, checkpoints and a training log.</summary>
public sealed class TrainingRun : IDisposable
{
    public required HomogeneousMlp Network { get; init; }
    /// <summary>θ at each requested checkpoint step that was reached.</summary>
    public required SortedDictionary<int, HomogeneousMlp> Checkpoints { get; init; }
    /// <summary>The training log as typed rows, in step order.</summary>
    public required IReadOnlyList<TrainingLogRow> History { get; init; }
    /// <summary>The last row of <see cref="History"/> (the final network).</summary>
    public TrainingLogRow Final => History[^1];
    /// <summary>The training log as a table (<see cref="TrainingLogRow.ToDataFrame"/>) for display.</summary>
    public DataFrame Log => _log ??= TrainingLogRow.ToDataFrame(History);
    DataFrame? _log;
    /// <summary>Steps actually taken (fewer than requested if stopped early).</summary>
    public required int StepsTaken { get; init; }
    public void Dispose() { Network.Dispose(); foreach (var c in Checkpoints.Values) c.Dispose(); }
}

/// <summary>
/// Full-batch gradient descent on the mean margin loss (1/n) Σ_i ℓ(y_i Φ(θ; x_i)). Its gradient is a stationarity
/// sum, (1/n) Σ_i ℓ'(q_i) y_i ∇_θΦ(x_i), so one <see cref="ParameterGradients"/> sweep per step gives both the
/// margins and the update. By Lyu &amp; Li (2020) / Ji &amp; Telgarsky (2020), once the data are fitted the normalised
/// margin q_min/‖θ‖^L increases and θ/‖θ‖ converges in direction to a KKT point of (P).
/// </summary>
public static class GradientDescent
{
    /// <summary>Trains a copy of <paramref name="init"/> on <paramref name="data"/>; the input network is not changed.</summary>
    public static TrainingRun Train(HomogeneousMlp init, LabelledSet data, TrainingSettings settings)
    {
        if (settings.Steps < 0) throw new ArgumentOutOfRangeException(nameof(settings), $"Steps must be ≥ 0, got {settings.Steps}.");
        if (!(settings.LearningRate > 0) || double.IsInfinity(settings.LearningRate)) throw new ArgumentOutOfRangeException(nameof(settings), $"The learning rate must be positive and finite, got {settings.LearningRate}.");
        if (settings.LogEvery <= 0) throw new ArgumentOutOfRangeException(nameof(settings), $"LogEvery must be positive, got {settings.LogEvery}.");
        if (data.Dim != init.InputDim) throw new ArgumentException($"The data have dimension {data.Dim} but the network takes inputs of dimension {init.InputDim}.");
        var checkpoints = new HashSet<int>(settings.Checkpoints ?? Array.Empty<int>());

        var X = data.X.to(init.DType, init.Device);
        var y = data.Y.to(init.DType, init.Device);
        long n = data.Count;
        var weights = init.Weights.Select(w => w.clone()).ToArray();
        var log = new Log();
        var kept = new SortedDictionary<int, HomogeneousMlp>();
        int step = 0;
        using var progress = NoPrior.Progress.Start(settings.Title, settings.Steps);
        // Forward + backward sweep ≈ 6 n P floating-point operations per step.
        using var threads = Parallelism.ForStep(6.0 * n * init.ParameterCount, kernelProducts: MatMul.RunsInKernel(init.Device, init.DType, ProductCalibration.SizeOfLayers(init.Widths, n)));
        // The sweep's [n, width] tensors and the gradient sums, allocated at the first step and overwritten by every later
        // one instead of allocated afresh (see TensorWorkspace).
        using var workspace = new TensorWorkspace();
        try
        {
            for (; ; step++)
            {
                Interrupt.ThrowIfRequested(settings.Title, step);
                using var scope = torch.NewDisposeScope();
                using var g = ParameterGradients.Compute(init, X, weights, workspace: workspace);
                var q = y * g.Output;
                var (loss, dLoss) = LossAndDerivative(q, settings.Loss);
                double meanLoss = loss.mean().ToDouble();
                if (!double.IsFinite(meanLoss))
                    throw new ArithmeticException($"{settings.Title}: training diverged at step {step} (mean loss {meanLoss}); lower the learning rate {settings.LearningRate}.");
                bool last = step == settings.Steps || (settings.StopBelowLoss is { } stop && meanLoss < stop);
                if (checkpoints.Contains(step)) kept[step] = new HomogeneousMlp(weights);
                if (step % settings.LogEvery == 0 || last || checkpoints.Contains(step))
                    log.Add(step, meanLoss, q, weights, init.Depth);
                progress.Report(step, $"loss {meanLoss:E3}");
                if (last) break;
                var grads = g.WeightedSum(dLoss * y / n, workspace);
                // In place: θ ← θ − η∇. The weights are this loop's own copies (checkpoints clone them), and updating in
                // place allocates no new weight-sized tensor per step (fresh allocations each step made glibc's heap grow).
                for (int k = 0; k < weights.Length; k++) weights[k].add_(grads[k], alpha: -settings.LearningRate);
            }
            return new TrainingRun { Network = new HomogeneousMlp(weights), Checkpoints = kept, History = log.Rows, StepsTaken = step };
        }
        finally
        {
            foreach (var w in weights) w.Dispose();
            if (!ReferenceEquals(X, data.X)) X.Dispose();
            if (!ReferenceEquals(y, data.Y)) y.Dispose();
        }
    }

    /// <summary>ℓ(q) and ℓ'(q), elementwise, computed stably.</summary>
    public static (Tensor Loss, Tensor Derivative) LossAndDerivative(Tensor q, MarginLoss loss) => loss switch
    {
        MarginLoss.Logistic => (nn.functional.softplus(-q), -(-q).sigmoid()),
        MarginLoss.Exponential => ((-q).exp(), -(-q).exp()),
        _ => throw new ArgumentOutOfRangeException(nameof(loss)),
    };

    sealed class Log
    {
        public List<TrainingLogRow> Rows { get; } = new();
        public void Add(int step, double loss, Tensor q, Tensor[] weights, int depth)
        {
            double thetaNorm = Math.Sqrt(weights.Sum(w => w.square().sum().ToDouble()));
            double min = q.min().ToDouble();
            Rows.Add(new TrainingLogRow(step, loss, q.le(0).to(ScalarType.Float64).mean().ToDouble(), min, min / Math.Pow(thetaNorm, depth), thetaNorm));
        }
    }
}
