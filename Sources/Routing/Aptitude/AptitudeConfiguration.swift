/// Knobs of the `aptitude` strategy (the Model-SAT idea: a model is what it does on a fixed test).
public struct AptitudeConfiguration: Sendable, Codable, Hashable {
    /// Categories the aptitude set is stratified over: spherical K-means clusters of training vectors (default 12).
    public var categories: Int = 12
    /// Aptitude prompts drawn per category at most (default 20).
    public var promptsPerCategory: Int = 20
    /// Nearest aptitude prompts whose outcomes form the neighbour features (default 10 and 3).
    public var neighbours: Int = 10
    public var nearNeighbours: Int = 3
    /// Sharpness of the query's soft category affinity softmax(τ·cosine) and of neighbour weights (default 20).
    public var temperature: Double = 20
    /// Pseudo-count pulling a category accuracy toward the model's overall aptitude (default 2).
    public var smoothing: Double = 2
    /// Training of the scorer (Adam on the labelled pairs; the epochs used, at most `epochs`, chosen by
    /// cross-validated log loss).
    public var epochs: Int = 40
    public var learningRate: Double = 0.01

    public init() {}
}
