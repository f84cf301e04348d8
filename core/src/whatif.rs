//! What-if pricing (coming next).
