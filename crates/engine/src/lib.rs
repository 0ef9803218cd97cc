//! Sans-IO measurement engines: time and replies in, packets and results out.
