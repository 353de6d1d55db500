enum _PlaceholderPlatforms {}
