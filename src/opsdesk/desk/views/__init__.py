"""Saved ticket views (a filter and a sort, personal or shared, with counts) and bulk work on tickets."""
