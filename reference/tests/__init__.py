"""Tests of diffpool_ref: /usr/bin/python3 -m unittest discover -s reference/tests -t reference"""
