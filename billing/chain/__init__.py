"""The distribution chain across books: the margin of every hop, agency commissions, and moving existing
sub-distributors into the chain."""
