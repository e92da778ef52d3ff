using System.Text;
using static LoraLab.Data.Demo.DemoVocabulary;

namespace LoraLab.Data.Demo;

/// The plain-text pretraining corpus of the demo, generated from a seed: short documents (one paragraph each,
/// separated by blank lines) of simple sentences, and documents of short lines. Besides plain language it carries the skills the demo's
/// instruction tasks later ask for, but never in instruction form: repeated phrases (copying), lists with
/// their count, first and last item, lists said backwards, counting, and fixed fruit colours.
public static class DemoCorpus
{
    /// Documents until their total length reaches <paramref name="targetChars"/>; the same seed gives the same text.
    public static IReadOnlyList<string> Documents(int seed, int targetChars = 600_000)
    {
        var rng = new Random(seed);
        var docs = new List<string>();
        int total = 0;
        while (total < targetChars)
        {
            var doc = Document(rng);
            docs.Add(doc);
            total += doc.Length + 2;
        }
        return docs;
    }

    /// The documents joined by blank lines, as written to a corpus file.
    public static string Text(int seed, int targetChars = 600_000) => string.Join("\n\n", Documents(seed, targetChars)) + "\n";

    static string Document(Random rng)
    {
        if (rng.Next(3) != 0) return LinesDocument(rng);
        int sentences = rng.Next(3, 8);
        var sb = new StringBuilder();
        // A document keeps one cast, so later sentences refer back to earlier words (induction).
        var cast = new Cast(rng);
        for (int i = 0; i < sentences; i++)
        {
            if (i > 0) sb.Append(' ');
            sb.Append(Sentence(rng, cast));
        }
        return sb.ToString();
    }

    sealed class Cast(Random rng)
    {
        public readonly string Name = Pick(rng, Names);
        public readonly string Other = Pick(rng, Names);
        public readonly string Noun = Pick(rng, Nouns);
        public readonly string Noun2 = Pick(rng, Nouns);
        public readonly string Adjective = Pick(rng, Adjectives);
    }

    static string Sentence(Random rng, Cast c) => rng.Next(16) switch
    {
        0 => $"{Subject(rng, c)} {Pick(rng, TransitiveVerbs)} the {Pick(rng, Adjectives)} {c.Noun}.",
        1 => $"{Subject(rng, c)} {Pick(rng, IntransitiveVerbs)} {Pick(rng, Prepositions)} the {c.Noun2}.",
        2 => $"the {c.Noun} is {Pick(rng, Colors)} and {Pick(rng, Adjectives)}.",
        3 => $"then {Subject(rng, c)} {Pick(rng, TransitiveVerbs)} the {c.Noun} again.",
        4 => $"{c.Name} has a {Pick(rng, Colors)} {Pick(rng, Nouns)} and a {Pick(rng, Colors)} {c.Noun2}.",
        5 => FruitFact(rng, c),
        6 => Counting(rng, c),
        7 => Echo(rng, c),
        8 => ListWithCount(rng, c),
        9 => ListEnds(rng, c),
        10 => Backwards(rng, c),
        11 => Spoken(rng, c),
        12 => $"the {c.Adjective} {c.Noun} {Pick(rng, IntransitiveVerbs)} and the {Pick(rng, Nouns)} {Pick(rng, IntransitiveVerbs)}.",
        13 => $"{c.Other} {Pick(rng, TransitiveVerbs)} {c.Name} {Pick(rng, Prepositions)} the {Pick(rng, Nouns)}.",
        14 => FruitFact(rng, c),
        _ => $"{Number(rng, 2, 20)} {Pick(rng, Plurals)} {Pick(rng, IntransitiveVerbs)[..^1]} {Pick(rng, Prepositions)} the {c.Noun2}.",
    };

    static string Subject(Random rng, Cast c) => rng.Next(3) switch
    {
        0 => c.Name,
        1 => $"the {c.Adjective} {Pick(rng, People)}",
        _ => $"the {c.Noun2}",
    };

    // Fruit colours never vary, so the colour of a fruit is a fact the model can learn.
    static string FruitFact(Random rng, Cast c)
    {
        var (fruit, color) = Fruits[rng.Next(Fruits.Length)];
        return rng.Next(3) switch
        {
            0 => $"the {fruit} is {color}.",
            1 => $"{c.Name} eats a {color} {fruit}.",
            _ => $"a ripe {fruit} is always {color}.",
        };
    }

    static string Counting(Random rng, Cast c)
    {
        int start = rng.Next(0, 15), length = rng.Next(3, 7);
        var seq = Enumerable.Range(start, Math.Min(length, 21 - start)).Select(i => DemoVocabulary.Numbers[i]);
        return rng.Next(3) switch
        {
            0 => $"{c.Name} counts {string.Join(" ", seq)}.",
            1 => $"after {DemoVocabulary.Numbers[start]} comes {DemoVocabulary.Numbers[start + 1]}.",
            _ => $"{c.Name} counts down {string.Join(" ", seq.Reverse())}.",
        };
    }

    static string Echo(Random rng, Cast c)
    {
        var word = Pick(rng, All);
        return rng.Next(3) switch
        {
            0 => $"{c.Name} says {word} and then says {word} again.",
            1 => $"the parrot says {word} {word}.",
            _ => $"{c.Other} hears {word} {word} {word}.",
        };
    }

    static string[] Items(Random rng, int min, int max) =>
        Enumerable.Range(0, rng.Next(min, max + 1)).Select(_ => Pick(rng, Nouns)).ToArray();

    static string ListWithCount(Random rng, Cast c)
    {
        var items = Items(rng, 1, 6);
        return rng.Next(2) == 0
            ? $"{c.Name} sees {string.Join(" ", items)}, that is {DemoVocabulary.Numbers[items.Length]} words."
            : $"in the {c.Noun2} there are {DemoVocabulary.Numbers[items.Length]} things: {string.Join(" ", items)}.";
    }

    static string ListEnds(Random rng, Cast c)
    {
        var items = Items(rng, 2, 6);
        return rng.Next(2) == 0
            ? $"{c.Name} lists {string.Join(" ", items)}, and the last one is {items[^1]}."
            : $"{c.Other} lists {string.Join(" ", items)}, and the first one is {items[0]}.";
    }

    static string Backwards(Random rng, Cast c)
    {
        var items = Items(rng, 2, 4);
        return $"{c.Name} says {string.Join(" ", items)} and backwards it is {string.Join(" ", items.Reverse())}.";
    }

    static string Spoken(Random rng, Cast c)
    {
        var items = Items(rng, 2, 5);
        var words = string.Join(" ", items);
        return $"{c.Name} says {words}. {c.Other} says it back: {words}.";
    }

    static readonly string[] Plurals = ["cats", "dogs", "birds", "ducks", "frogs", "bees", "ants", "cows", "pigs", "owls"];

    /// A document of short lines, several of which start with a bare word: words at a line start are spelled
    /// without a leading space, and byte-level BPE gives those spellings tokens of their own, which the model
    /// must also know (an instruction's input and answer start a line).
    static string LinesDocument(Random rng)
    {
        var lines = new List<string>();
        int blocks = rng.Next(2, 5);
        for (int b = 0; b < blocks; b++)
        {
            var items = Items(rng, 1, 5);
            var words = string.Join(" ", items);
            var name = Pick(rng, Names);
            // Filler lines between a list and the question about it, so the answer must be fetched from
            // further back, as from an instruction's input.
            var gap = Enumerable.Range(0, rng.Next(3)).Select(_ => Filler(rng)).ToArray();
            switch (rng.Next(7))
            {
                case 0: lines.AddRange([$"{name} says:", words, .. gap, $"{Pick(rng, Names)} says it back:", words]); break;
                case 1: lines.AddRange([$"{name} hears:", items[0], .. gap, "and says it two times:", $"{items[0]} {items[0]}"]); break;
                case 2: lines.AddRange([$"{name} writes a list:", words, .. gap, "the last one is:", items[^1]]); break;
                case 3: lines.AddRange([$"{name} writes a list:", words, .. gap, "the first one is:", items[0]]); break;
                case 4: lines.AddRange([$"{name} writes a list:", words, .. gap, "the number of words is:", DemoVocabulary.Numbers[items.Length]]); break;
                case 5: lines.AddRange([$"{name} writes a list:", words, .. gap, "and backwards:", string.Join(" ", items.Reverse())]); break;
                default: lines.AddRange([Filler(rng), Filler(rng)]); break;
            }
        }
        return string.Join("\n", lines);
    }

    static string Filler(Random rng) => rng.Next(3) switch
    {
        0 => $"{Pick(rng, Names)} sees a {Pick(rng, Colors)} {Pick(rng, Nouns)}.",
        1 => $"the {Pick(rng, Adjectives)} {Pick(rng, Nouns)} {Pick(rng, IntransitiveVerbs)}.",
        _ => $"{Pick(rng, Nouns)} and {Pick(rng, Nouns)} are {Pick(rng, Adjectives)}.",
    };

    static string Number(Random rng, int min, int max) => DemoVocabulary.Numbers[rng.Next(min, max + 1)];

    internal static string Pick(Random rng, IReadOnlyList<string> words) => words[rng.Next(words.Count)];
}
