namespace LoraLab.Data.Demo;

/// The closed word list the demo corpus and tasks are built from: short, common, lower-case English words
/// grouped by the role they play in sentence templates.
public static class DemoVocabulary
{
    public static readonly string[] Colors =
        ["red", "blue", "green", "yellow", "black", "white", "brown", "pink", "gray", "purple", "gold", "silver"];

    public static readonly string[] Animals =
    [
        "cat", "dog", "fox", "bird", "fish", "horse", "cow", "pig", "sheep", "goat", "duck", "frog", "mouse", "rabbit",
        "bear", "wolf", "lion", "tiger", "deer", "owl", "bee", "ant", "snake", "whale", "crab", "seal", "goose", "hen",
        "mole", "bat",
    ];

    /// Each fruit with the colour the corpus always gives it.
    public static readonly (string Fruit, string Color)[] Fruits =
    [
        ("apple", "red"), ("banana", "yellow"), ("cherry", "red"), ("grape", "purple"), ("lemon", "yellow"),
        ("lime", "green"), ("mango", "yellow"), ("melon", "green"), ("peach", "pink"), ("pear", "green"),
        ("plum", "purple"), ("berry", "blue"), ("kiwi", "brown"), ("fig", "purple"), ("orange", "gold"),
        ("coconut", "brown"), ("strawberry", "red"), ("blueberry", "blue"),
    ];

    public static readonly string[] Things =
    [
        "tree", "house", "river", "hill", "box", "ball", "book", "cup", "door", "window", "road", "boat", "car", "hat",
        "shoe", "bag", "chair", "table", "bed", "lamp", "key", "coin", "ring", "rope", "stone", "leaf", "flower",
        "garden", "field", "forest", "lake", "sea", "sky", "sun", "moon", "star", "cloud", "bridge", "town", "farm",
        "shop", "school", "park", "wall", "gate", "bell", "drum", "kite", "map", "pen", "cake", "bread", "milk", "soup",
        "egg", "nest", "cave", "clock", "basket", "candle",
    ];

    public static readonly string[] People =
    [
        "boy", "girl", "man", "woman", "child", "king", "queen", "farmer", "baker", "teacher", "doctor", "friend",
        "sister", "brother", "mother", "father",
    ];

    public static readonly string[] Names =
    [
        "anna", "ben", "clara", "david", "emma", "frank", "grace", "henry", "ivy", "jack", "kate", "leo", "mia", "nora",
        "oscar", "paul", "rosa", "sam", "tom", "zoe",
    ];

    public static readonly string[] TransitiveVerbs =
    [
        "sees", "likes", "finds", "takes", "holds", "wants", "follows", "watches", "carries", "helps", "meets",
        "visits", "loves", "paints", "pushes",
    ];

    public static readonly string[] IntransitiveVerbs =
        ["runs", "jumps", "sleeps", "sings", "swims", "walks", "waits", "plays", "rests", "hides"];

    public static readonly string[] Adjectives =
    [
        "big", "small", "old", "young", "happy", "sad", "fast", "slow", "tall", "short", "warm", "cold", "quiet",
        "loud", "soft", "bright", "dark", "little", "kind", "brave",
    ];

    public static readonly string[] Prepositions = ["in", "on", "near", "under", "behind", "by", "over"];

    /// Zero to twenty, written out; index = value.
    public static readonly string[] Numbers =
    [
        "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
        "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    ];

    public static IEnumerable<string> FruitNames => Fruits.Select(f => f.Fruit);

    /// Nouns that can stand in any noun slot of a sentence.
    public static readonly string[] Nouns = [.. Animals, .. Fruits.Select(f => f.Fruit), .. Things, .. People];

    /// Every distinct word, in a fixed order.
    public static readonly string[] All =
        [.. new[] { Colors, Nouns, Names, TransitiveVerbs, IntransitiveVerbs, Adjectives, Prepositions, Numbers }
            .SelectMany(w => w).Distinct()];
}
