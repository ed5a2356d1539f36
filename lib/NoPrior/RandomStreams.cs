using static TorchSharp.torch;

namespace NoPrior;

/// <summary>The role a random draw plays. Each role has its own random stream, derived from the one seed the user gives.</summary>
public enum RandomRole
{
    /// <summary>The training data (synthetic points, a seeded choice of images).</summary>
    Data = 1,
    /// <summary>A fresh sample from the data distribution that the network never saw (the evaluation's yardstick).</summary>
    FreshSample = 2,
    /// <summary>The network's initial weights.</summary>
    NetworkInit = 3,
    /// <summary>The attack's initial candidates and multipliers.</summary>
    AttackInit = 4,
    /// <summary>Random search over attack settings.</summary>
    Sweep = 5,
    /// <summary>Anything else a notebook draws (noise images for sanity checks, random directions, exact instances).</summary>
    Other = 6,
}

/// <summary>
/// One user seed, independent random streams per <see cref="RandomRole"/>. Why this exists: libtorch's CPU normal sampler
/// fills blocks of 16 values, so <c>randn(n, 784)</c> from a generator seeded with s equals the first n rows of
/// <c>randn(h, 784)</c> from another generator seeded with s (784 = 49·16). Seeding the data and the network with the same
/// number therefore made the initial first-layer rows parallel to the training points, and an attack with that seed start
/// from the network's own rows. Every seeded draw in the library goes through <see cref="Generator"/> with its role, so a
/// notebook can pass one seed everywhere without coupling anything.
/// </summary>
public static class RandomStreams
{
    /// <summary>The derived 64-bit seed of (role, seed, index): the SplitMix64 finaliser applied twice to a mix of the
    /// three, so nearby user seeds, roles and indices give unrelated streams (also in the low 32 bits, which libtorch's
    /// Mersenne twister uses).</summary>
    public static ulong DerivedSeed(RandomRole role, long seed, long index = 0)
    {
        if (!Enum.IsDefined(role)) throw new ArgumentOutOfRangeException(nameof(role), role, "Unknown random role.");
        ulong z = Mix((ulong)seed ^ 0x6A09E667F3BCC909UL);
        z = Mix(z ^ ((ulong)role * 0x9E3779B97F4A7C15UL));
        return Mix(z ^ ((ulong)index * 0xD1B54A32D192ED03UL));
    }

    /// <summary>A CPU generator for (role, seed, index). Draw on the CPU in float64, then move: the same seed gives the
    /// same numbers on every device.</summary>
    public static Generator Generator(RandomRole role, long seed, long index = 0) => new(DerivedSeed(role, seed, index));

    static ulong Mix(ulong z)
    {
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
