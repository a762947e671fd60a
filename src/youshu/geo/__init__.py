"""Geography: coordinate systems, distances, circles, catchments, zones and routes."""
